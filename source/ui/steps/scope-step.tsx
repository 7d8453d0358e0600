import {Box, Text, useInput, usePaste} from 'ink';
import {useCallback, useEffect, useRef, useState, type ReactNode} from 'react';
import type {HealthProbe} from '../../incident/health.js';
import {
	answersSummary,
	decide,
	decisionData,
	DECISION_TITLES,
	HEALTH_SNIPPET,
	HEALTH_SNIPPET_INLINE,
	NEXT_STEPS,
	pendingScope,
	QUESTIONS,
	scopeRecord,
	type Answer,
	type Answers,
	type Decision,
	type ScopeRecord,
} from '../../incident/scope.js';
import type {ServiceStatus} from '../../incident/service-status.js';
import type {ServicesSnapshot} from '../../incident/services-feed.js';
import type {StepId, TimelineEvent} from '../../incident/timeline.js';
import type {ConsoleModel} from '../console-model.js';
import {useThrottledVersion} from '../hooks/use-throttled-version.js';
import {Toned, useColorEnabled} from '../theme.js';
import type {StepProps} from './step-props.js';

export type ScopeStepProps = Pick<StepProps, 'model' | 'snapshot' | 'record' | 'events' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

/** How many of a failing service's last lines the step keeps (the runbooks' "last 50 lines"). */
export const SCOPE_LOG_LINES = 50;
const maxServiceRows = 4;
const maxHealthRows = 4;
const maxReasonRows = 3;
const maxNoteChars = 500;

type Phase = 'question' | 'note' | 'decision' | 'saving';

interface Asking {
	phase: Phase;
	/** The question on screen (phase 'question'). */
	index: number;
	answers: Answers;
	note: string;
}

interface HealthState {
	probes: HealthProbe[] | null;
	probing: boolean;
	error: string | null;
}

const answerKeys: Record<string, Answer> = {y: 'yes', n: 'no', u: 'unsure'};

/** Where to start asking: after what was already answered before the console closed. */
function resume(events: readonly TimelineEvent[]): Asking {
	const {answers, note} = pendingScope(events);
	const index = QUESTIONS.findIndex(q => !answers[q.id]);
	if (index >= 0) return {phase: 'question', index, answers, note: ''};
	return {phase: note === null ? 'note' : 'decision', index: QUESTIONS.length - 1, answers, note: note ?? ''};
}

const fresh = (): Asking => ({phase: 'question', index: 0, answers: {}, note: ''});

const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

function cell(text: string, width: number): string {
	return text.length > width - 1 ? `${text.slice(0, width - 2)}… ` : text.padEnd(width);
}

/** Printable characters only: a pasted newline or escape sequence must not end up in the note. */
const printable = (text: string) => text.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001F\u007F-\u009F]/g, '');

function serviceLine(s: ServiceStatus, selected: boolean, rising: boolean): string {
	const state = s.state === 'missing' ? 'missing (no container)' : s.health === 'unhealthy' || s.health === 'starting' ? `${s.state} (${s.health})` : s.state;
	const oom = s.containers.some(c => c.oomKilled) ? ' · OOM-killed' : '';
	return `${selected ? '›' : ' '} ${cell(s.service, 16)}${cell(state, 24)}exit ${cell(s.exitCode === null ? '-' : String(s.exitCode), 5)}restarts ${s.restartCount}${rising ? ' ↑' : ''}${oom}`;
}

function probeLine(probe: HealthProbe): {tone: 'good' | 'bad'; text: string} {
	const status = probe.status === null ? '---' : String(probe.status);
	const error = probe.error ? `  ${probe.error}` : '';
	return {tone: probe.ok ? 'good' : 'bad', text: `${probe.ok ? '✓' : '✗'} ${status} ${String(probe.latencyMs).padStart(5)} ms${error}  ${probe.url}`};
}

export interface ScopeLayout {
	serviceRows: number;
	healthRows: number;
	/** The snippet in full (3 YAML lines) or inline. */
	snippetFull: boolean;
	/** Log lines shown, and whether they get a full box (top and bottom border) or sides only. */
	logRows: number;
	logBox: 'full' | 'sides' | 'none';
	reasonRows: number;
}

/**
 * Fits the sections into `rows` (the step's whole height, border included): the title, the
 * recorded decision, the interaction and the key line come first; then one row per failing
 * service and health URL (up to 4 each); the failing service's logs get what is left.
 */
export function scopeLayout(
	rows: number,
	want: {top: number; reasons: number; interaction: number; failing: number; health: number; snippet: boolean; message: number},
): ScopeLayout {
	const inner = Math.max(1, rows - 2);
	let reasonRows = Math.min(want.reasons, maxReasonRows);
	const fixed = () => 1 + want.top + reasonRows + 1 + 1 + want.interaction + 1 + want.message;
	let serviceRows = Math.min(want.failing, maxServiceRows);
	let healthRows = want.snippet ? 1 + HEALTH_SNIPPET.length : Math.max(1, Math.min(want.health, maxHealthRows));
	let snippetFull = want.snippet;
	const logsWanted = want.failing > 0 ? 4 : 0;
	const spare = () => inner - fixed() - serviceRows - healthRows - logsWanted;
	// Give up detail in this order until the logs get a caption and three lines.
	if (spare() < 0 && want.snippet) {
		snippetFull = false;
		healthRows = 2;
	}
	if (spare() < 0 && !want.snippet) healthRows = Math.max(1, healthRows + spare());
	if (spare() < 0) serviceRows = Math.max(Math.min(1, want.failing), serviceRows + spare());
	if (spare() < 0) reasonRows = Math.max(Math.min(1, want.reasons), reasonRows + spare());
	const area = want.failing > 0 ? Math.max(0, inner - fixed() - serviceRows - healthRows - 1) : 0;
	const logBox = area >= 5 ? 'full' : area >= 1 ? 'sides' : 'none';
	return {serviceRows, healthRows, snippetFull, logRows: logBox === 'full' ? area - 2 : area, logBox, reasonRows};
}

/**
 * Step 1: is the site really down, and roll back or hotfix? Shows the failing services with
 * their last log lines and the health URLs, asks the runbooks' four questions, and records
 * the answers, a note and the decision. The decision shown is always the timeline's.
 */
export function ScopeStep({model, snapshot, record, events, rows, columns, active, onClose, onQuit}: ScopeStepProps) {
	const recorded: ScopeRecord | null = scopeRecord(events);
	const {readOnly} = model;
	const color = useColorEnabled();
	const [asking, setAskingState] = useState<Asking | null>(() => (recorded || readOnly ? null : resume(events)));
	// Keys can arrive faster than redraws (a paste, a held key, a quick "yn"): handlers read
	// and write this ref, so each key sees what the one before it did.
	const askingRef = useRef(asking);
	const setAsking = (next: Asking | null) => {
		askingRef.current = next;
		setAskingState(next);
	};
	const [selected, setSelected] = useState<string | null>(null);
	const [scroll, setScroll] = useState(0);
	const [message, setMessage] = useState<string | null>(null);
	const [health, setHealth] = useState<HealthState>({probes: null, probing: false, error: null});
	const probeController = useRef<AbortController | null>(null);
	const configured = model.settings.health;

	const probe = useCallback(() => {
		probeController.current?.abort();
		const controller = new AbortController();
		probeController.current = controller;
		setHealth(h => ({...h, probing: true, error: null}));
		model.probeHealth(controller.signal).then(
			probes => !controller.signal.aborted && setHealth({probes, probing: false, error: null}),
			(error: unknown) => !controller.signal.aborted && setHealth(h => ({...h, probing: false, error: error instanceof Error ? error.message : String(error)})),
		);
	}, [model]);

	useEffect(() => {
		if (configured.length > 0) probe();
		return () => probeController.current?.abort();
	}, [probe]);

	// Redraw as the failing service's log lines arrive, a few times a second at most.
	const subscribe = useCallback((listener: () => void) => model.logs.subscribe(listener), [model]);
	useThrottledVersion(subscribe, 100);

	const failing = snapshot.services.filter(s => !s.ok);
	const current = failing.find(s => s.service === selected) ?? failing[0] ?? null;
	const logLines = current ? model.logs.tail([current.service], SCOPE_LOG_LINES) : [];

	const fail = (error: unknown) => setMessage(`could not record: ${error instanceof Error ? error.message : String(error)}`);
	const answer = (a: Asking, value: Answer) => {
		const question = QUESTIONS[a.index]!;
		void record('scope', 'scope_answer', {question: question.id, text: question.text, answer: value}).catch(fail);
		const answers = {...a.answers, [question.id]: value};
		setAsking(a.index + 1 < QUESTIONS.length ? {...a, index: a.index + 1, answers} : {...a, answers, phase: 'note'});
	};
	const finishNote = (a: Asking, keep: boolean) => {
		const note = keep ? a.note.trim() : '';
		if (note) void record('scope', 'scope_note', {text: note}).catch(fail);
		setAsking({...a, note, phase: 'decision'});
	};
	const save = async (a: Asking, chosen: Decision) => {
		setAsking({...a, phase: 'saving'});
		try {
			await record('scope', 'scope_decision', {
				...decisionData(a.answers, a.note, chosen),
				// What the operator was looking at when deciding, for the postmortem.
				failing: failing.map(s => ({service: s.service, state: s.state, exitCode: s.exitCode, restartCount: s.restartCount})),
				health: (health.probes ?? []).map(({url, ok, status, latencyMs, error}) => ({url, ok, status, latencyMs, error})),
			});
			await record('scope', 'step_status', {status: 'done'});
			setAsking(null);
		} catch (error) {
			fail(error);
			setAsking({...a, phase: 'decision'});
		}
	};

	const typing = asking?.phase === 'note';
	const editNote = (change: (note: string) => string) => {
		const a = askingRef.current;
		if (a?.phase === 'note') setAsking({...a, note: change(a.note).slice(0, maxNoteChars)});
	};

	const layout = scopeLayout(rows, {
		top: recorded ? (asking ? 1 : 3 + (recorded.note ? 1 : 0)) : 0,
		reasons: recorded && !asking ? recorded.reasons.length : 0,
		interaction: interactionRows(asking, readOnly, recorded),
		failing: failing.length,
		health: configured.length,
		snippet: configured.length === 0,
		message: message ? 1 : 0,
	});
	const maxScroll = Math.max(0, logLines.length - layout.logRows);
	const offset = Math.min(scroll, maxScroll);

	useInput(
		(input, key) => {
			if (message) setMessage(null);
			const asking = askingRef.current;
			if (asking?.phase === 'note') {
				if (key.return) return finishNote(asking, true);
				if (key.escape) return finishNote(asking, false);
				if (key.backspace || key.delete) return editNote(note => note.slice(0, -1));
				if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
				const text = printable(input);
				if (text) editNote(note => note + text);
				return;
			}
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			if (key.tab && failing.length > 0) {
				const step = key.shift ? -1 : 1;
				setSelected(previous => {
					const at = Math.max(0, failing.findIndex(s => s.service === (previous ?? current?.service)));
					return failing[(at + step + failing.length) % failing.length]!.service;
				});
				setScroll(0);
				return;
			}
			// Functional updates: a held arrow key sends keys faster than redraws.
			const page = Math.max(1, layout.logRows);
			if (key.upArrow || key.pageUp) return setScroll(s => Math.min(maxScroll, Math.min(s, maxScroll) + (key.pageUp ? page : 1)));
			if (key.downArrow || key.pageDown) return setScroll(s => Math.max(0, Math.min(s, maxScroll) - (key.pageDown ? page : 1)));
			// In the decision, r means "roll back"; p re-probes everywhere.
			if ((input === 'p' || (input === 'r' && asking?.phase !== 'decision')) && configured.length > 0) return probe();
			if (!asking) {
				if (input === 'c' && !readOnly) setAsking(fresh());
				return;
			}
			if (asking.phase === 'question') {
				const value = answerKeys[input.toLowerCase()];
				if (value) return answer(asking, value);
				if ((key.backspace || key.delete) && asking.index > 0) setAsking({...asking, index: asking.index - 1});
				return;
			}
			if (asking.phase === 'decision') {
				if (key.return) return void save(asking, decide(asking.answers).decision);
				if (input === 'r') return void save(asking, 'rollback');
				if (input === 'h') return void save(asking, 'hotfix');
				if (key.backspace || key.delete) setAsking({...asking, phase: 'note'});
			}
		},
		{isActive: active},
	);

	usePaste(
		text => {
			editNote(note => note + printable(text));
		},
		{isActive: active && typing},
	);

	// ---- sections ---------------------------------------------------------------------

	const top: ReactNode[] = [];
	if (recorded) {
		const title = DECISION_TITLES[recorded.decision];
		const state = asking ? ' · changing it below' : readOnly ? '' : ' · c: change';
		top.push(
			<Text key="decision" wrap="truncate-end">
				<Toned tone="warn" bold>
					Decision: {title}
				</Toned>
				<Toned tone="muted">
					{' · '}
					recorded {when(recorded.time)} by {recorded.user}
					{recorded.overridden ? ' (overridden)' : ''}
					{state}
				</Toned>
			</Text>,
		);
		if (!asking) {
			for (const [i, reason] of recorded.reasons.slice(0, layout.reasonRows).entries()) {
				top.push(
					<Text key={`reason-${i}`} wrap="truncate-end">
						{'  · '}
						{reason}
					</Text>,
				);
			}
			if (recorded.note) {
				top.push(
					<Text key="note" wrap="truncate-end">
						{'  Note: '}
						{recorded.note}
					</Text>,
				);
			}
			top.push(
				<Text key="answers" wrap="truncate-end">
					<Toned tone="muted">
						{'  '}
						{answersSummary(recorded.answers) || 'no answers recorded'}
					</Toned>
				</Text>,
				<Text key="next" wrap="truncate-end" bold>
					{'  '}
					{NEXT_STEPS[recorded.decision]}
				</Text>,
			);
		}
	}

	const servicesSection: ReactNode[] = [];
	servicesSection.push(
		<Text key="failing-title" wrap="truncate-end">
			<Text bold>Failing services </Text>
			{snapshot.error ? <Toned tone="bad">engine: {snapshot.error} </Toned> : null}
			{failing.length > 0 ? (
				<Toned tone="bad">
					{failing.length} of {snapshot.services.length}
				</Toned>
			) : snapshot.services.length > 0 ? (
				<Toned tone="good">none: all {snapshot.services.length} running</Toned>
			) : (
				<Toned tone="muted">{snapshot.mode === 'starting' ? 'reading the services…' : 'no services'}</Toned>
			)}
			{failing.length > layout.serviceRows ? <Toned tone="muted"> · tab: next</Toned> : null}
		</Text>,
	);
	if (current) {
		// The rows shown always include the selected service.
		const at = failing.indexOf(current);
		const first = Math.max(0, Math.min(at - layout.serviceRows + 1, failing.length - layout.serviceRows));
		for (const s of failing.slice(Math.max(0, first), Math.max(0, first) + layout.serviceRows)) {
			servicesSection.push(
				<Text key={`svc-${s.service}`} wrap="truncate-end">
					<Toned tone={s === current ? 'bad' : 'plain'} bold={s === current}>
						{serviceLine(s, s === current, snapshot.rising.has(s.service))}
					</Toned>
				</Text>,
			);
		}
		if (layout.logBox !== 'none') {
			const shown = logLines.slice(Math.max(0, logLines.length - layout.logRows - offset), logLines.length - offset);
			const from = logLines.length - offset - shown.length + 1;
			servicesSection.push(
				<Text key="logs-caption" wrap="truncate-end">
					<Toned tone="muted">
						{logLines.length === 0
							? `  no log lines from ${current.service} yet`
							: `  last lines of ${current.service}: ${from}–${from + shown.length - 1} of ${logLines.length}${maxScroll > 0 ? ' · ↑↓ scroll' : ''}${failing.length > 1 ? ' · tab: next service' : ''}`}
					</Toned>
				</Text>,
			);
			// As tall as the lines it holds: an empty box says nothing the caption does not.
			if (shown.length > 0) {
				servicesSection.push(
					<Box
						key="logs"
						flexDirection="column"
						borderStyle="single"
						borderTop={layout.logBox === 'full'}
						borderBottom={layout.logBox === 'full'}
						borderDimColor={color}
						height={shown.length + (layout.logBox === 'full' ? 2 : 0)}
						flexShrink={0}
						overflow="hidden"
					>
						{shown.map(line => (
							<Text key={line.seq} wrap="truncate-end" dimColor={line.marker}>
								{line.text.replaceAll('\t', '  ')}
							</Text>
						))}
					</Box>,
				);
			}
		}
	}

	const healthSection: ReactNode[] = [];
	const probes = health.probes;
	const okCount = probes?.filter(p => p.ok).length ?? 0;
	healthSection.push(
		<Text key="health-title" wrap="truncate-end">
			<Text bold>Health </Text>
			{configured.length === 0 ? (
				<Toned tone="warn">no URL configured</Toned>
			) : health.probing ? (
				<Toned tone="muted">probing {configured.length} URL{configured.length === 1 ? '' : 's'}…</Toned>
			) : health.error ? (
				<Toned tone="bad">probe failed: {health.error}</Toned>
			) : probes ? (
				<Toned tone={okCount === probes.length ? 'good' : 'bad'}>
					{okCount} of {probes.length} ok
				</Toned>
			) : null}
			{configured.length > 0 && !health.probing ? (
				<Toned tone="muted">
					{configured.length > layout.healthRows ? ` · ${configured.length - layout.healthRows} not shown` : ''}
					{probes?.[0] ? ` · probed ${probes[0].time.slice(11, 19)} UTC` : ''} · {asking?.phase === 'decision' ? 'p' : 'r'}: probe again
				</Toned>
			) : null}
		</Text>,
	);
	if (configured.length === 0) {
		healthSection.push(
			<Text key="snippet-intro" wrap="truncate-end">
				{'  '}Say where to probe: add to the Compose file{layout.snippetFull ? ':' : ''}
			</Text>,
		);
		const snippet = layout.snippetFull ? HEALTH_SNIPPET : [HEALTH_SNIPPET_INLINE];
		for (const line of snippet) {
			healthSection.push(
				<Text key={`snippet-${line}`} wrap="truncate-end">
					<Toned tone="warn">
						{'    '}
						{line}
					</Toned>
				</Text>,
			);
		}
	} else {
		let lines: Array<{tone: 'good' | 'bad' | 'muted'; text: string}> = probes ? probes.map(probeLine) : configured.map(target => ({tone: 'muted' as const, text: `… ${target.url}`}));
		// When they do not all fit, the failing ones are the ones to see.
		if (lines.length > layout.healthRows) lines = [...lines.filter(l => l.tone === 'bad'), ...lines.filter(l => l.tone !== 'bad')];
		for (const [i, line] of lines.slice(0, layout.healthRows).entries()) {
			healthSection.push(
				<Text key={`probe-${i}`} wrap="truncate-end">
					{'  '}
					<Toned tone={line.tone}>{line.text}</Toned>
				</Text>,
			);
		}
	}

	const interaction = renderInteraction(asking, readOnly, model.readOnlyReason, recorded, columns);
	const keys = keyLine(asking, readOnly, recorded);

	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} height={rows} flexShrink={0} overflow="hidden">
			<Text wrap="truncate-end">
				<Text bold>Step 1 · Scope</Text>
				<Toned tone="muted"> · is the site really down, and roll back or hotfix?</Toned>
			</Text>
			{top}
			{servicesSection}
			{healthSection}
			{interaction}
			{message ? (
				<Text wrap="truncate-end">
					<Toned tone="bad">{message}</Toned>
				</Text>
			) : null}
			<Text wrap="truncate-end">
				<Toned tone="muted">{keys}</Toned>
			</Text>
		</Box>
	);
}

function interactionRows(asking: Asking | null, readOnly: boolean, recorded: ScopeRecord | null): number {
	if (!asking) return readOnly || !recorded ? 1 : 0;
	switch (asking.phase) {
		case 'question':
			return 2;
		case 'note':
			return 2;
		case 'decision':
			return 3 + Math.min(decide(asking.answers).reasons.length, maxReasonRows);
		case 'saving':
			return 1;
	}
}

function renderInteraction(
	asking: Asking | null,
	readOnly: boolean,
	readOnlyReason: string | null,
	recorded: ScopeRecord | null,
	columns: number,
): ReactNode {
	if (!asking) {
		if (readOnly) {
			return (
				<Text wrap="truncate-end">
					<Toned tone="warn">read-only{readOnlyReason ? ` (${readOnlyReason})` : ''}: the decision cannot be recorded</Toned>
				</Text>
			);
		}
		return recorded ? null : <Text wrap="truncate-end">c: answer the rollback-or-hotfix questions</Text>;
	}
	if (asking.phase === 'question') {
		const question = QUESTIONS[asking.index]!;
		return (
			<>
				<Text wrap="truncate-end">
					<Toned tone="warn" bold>
						{asking.index + 1}/{QUESTIONS.length} {question.text}
					</Toned>
				</Text>
				<Text wrap="truncate-end">
					<Toned tone="muted">
						{'    '}
						{question.help}
					</Toned>
				</Text>
			</>
		);
	}
	if (asking.phase === 'note') {
		// The end of the note stays in view however long it gets.
		const width = Math.max(10, columns - 10);
		const shown = asking.note.length > width ? `…${asking.note.slice(-(width - 1))}` : asking.note;
		return (
			<>
				<Text wrap="truncate-end">
					<Toned tone="warn" bold>
						Scope note
					</Toned>{' '}
					<Toned tone="muted">(one line: what is broken, since when, who is affected)</Toned>
				</Text>
				<Text wrap="truncate-end">
					{'> '}
					{shown}
					<Text inverse> </Text>
				</Text>
			</>
		);
	}
	if (asking.phase === 'saving') return <Text wrap="truncate-end">recording the decision…</Text>;
	const {decision, reasons} = decide(asking.answers);
	return (
		<>
			<Text wrap="truncate-end">
				<Toned tone="warn" bold>
					Recommendation: {DECISION_TITLES[decision]}
				</Toned>
				<Toned tone="muted">
					{'  '}
					{answersSummary(asking.answers)}
				</Toned>
			</Text>
			{reasons.slice(0, maxReasonRows).map(reason => (
				<Text key={reason} wrap="truncate-end">
					{'  · '}
					{reason}
				</Text>
			))}
			<Text wrap="truncate-end">
				{'  '}
				{asking.note ? `Note: ${asking.note}` : <Toned tone="muted">no note</Toned>}
			</Text>
			<Text wrap="truncate-end" bold>
				{'  '}
				{NEXT_STEPS[decision]}
			</Text>
		</>
	);
}

function keyLine(asking: Asking | null, readOnly: boolean, recorded: ScopeRecord | null): string {
	// tab and ↑↓ are in the logs' caption; here the phase's keys, then the way out.
	const browse = 'esc: back  q: quit';
	if (!asking) return `${readOnly ? '' : recorded ? 'c: change  ' : 'c: answer  '}${browse}`;
	switch (asking.phase) {
		case 'question':
			return `y: yes  n: no  u: unsure  ${asking.index > 0 ? '⌫: previous  ' : ''}${browse}`;
		case 'note':
			return 'type the note  enter: done  esc: skip  (q is a letter here)';
		case 'decision':
			return `enter: accept  r: roll back  h: hotfix  ⌫: note  ${browse}`;
		case 'saving':
			return browse;
	}
}
