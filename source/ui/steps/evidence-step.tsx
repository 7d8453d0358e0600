import {Box, Text, useInput} from 'ink';
import {useEffect, useRef, useState} from 'react';
import {lastCapture} from '../../incident/evidence/record.js';
import type {CaptureProgress, CaptureResult, EvidencePlanView, ItemGroup, PlannedItem} from '../../incident/evidence/types.js';
import {formatMiB} from '../../incident/evidence/write-content.js';
import {countTotal, type RedactionCounts} from '../../incident/redaction.js';
import type {StepId, TimelineEvent} from '../../incident/timeline.js';
import {formatBytes, type Tone} from '../../presentation/format.js';
import {progressBar} from '../../presentation/progress.js';
import type {ConsoleModel} from '../console-model.js';
import {Toned} from '../theme.js';
import type {StepProps} from './step-props.js';

export type EvidenceStepProps = Pick<StepProps, 'model' | 'record' | 'events' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

type Phase = 'planning' | 'ready' | 'running' | 'done' | 'failed';

interface RunState {
	started: number;
	total: number;
	finished: number;
	bytes: number;
	running: PlannedItem[];
	failed: Array<{file: string; error: string}>;
}

interface Line {
	key: string;
	tone?: Tone;
	bold?: boolean;
	text: string;
	/** Wrapped rather than cut: a path the operator must be able to copy. */
	wrap?: boolean;
}

const when = (iso: string) => `${iso.slice(11, 16)} UTC`;
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function countsText(counts: RedactionCounts): string {
	const entries = Object.entries(counts).filter(([, n]) => (n ?? 0) > 0);
	return entries.length === 0 ? '' : ` (${entries.map(([rule, n]) => `${rule} ${n}`).join(', ')})`;
}

/** What each group of items is, in a line. */
function groupLine(group: ItemGroup, plan: EvidencePlanView, count: number): string {
	switch (group) {
		case 'compose':
			return 'compose: the resolved config, ps, version';
		case 'container':
			return `${plural(plan.containers, 'container')}: inspect, health-check history, full log with timestamps (newest ${formatMiB(plan.logCapBytes)} each)`;
		case 'image':
			return `${plural(plan.images, 'image')} in use: inspect (ID, repo digests, created)`;
		case 'engine':
			return 'engine: events of the last 24 h, info, version, disk usage (system df)';
		case 'host':
			return "host: hostname, kernel, uptime, load, memory, disk usage of / and Docker's root";
		case 'health':
			return `${plural(plan.healthUrls, 'health URL')}: their responses now`;
		case 'incident':
			return 'the incident timeline so far';
		case 'ci':
			return `the CI log: ${plan.ciLog ?? `${count} item`}`;
	}
}

const groupOrder: ItemGroup[] = ['compose', 'container', 'image', 'engine', 'host', 'health', 'incident', 'ci'];

function planLines(plan: EvidencePlanView): Line[] {
	const lines: Line[] = [];
	const estimate = `about ${formatBytes(plan.estimateBytes)}${plan.estimateIncomplete ? ' or more' : ''}`;
	lines.push({key: 'will', bold: true, text: `Will collect ${plural(plan.items.length, 'item')}, ${estimate}:`});
	for (const group of groupOrder) {
		const count = plan.items.filter(item => item.group === group).length;
		if (count > 0) lines.push({key: `group-${group}`, text: `  · ${groupLine(group, plan, count)}`});
	}
	if (!plan.items.some(item => item.group === 'health')) lines.push({key: 'no-health', tone: 'muted', text: '  · no health URL configured (x-rollback-console.health)'});
	if (!plan.items.some(item => item.group === 'ci')) lines.push({key: 'no-ci', tone: 'muted', text: '  · no CI log (headless: rollback-console capture --ci-log FILE|URL)'});
	return lines;
}

function resultLines(result: CaptureResult, ms: number): Line[] {
	const {manifest, bundle} = result;
	const {summary} = manifest;
	const lines: Line[] = [
		{
			key: 'result',
			tone: summary.failed > 0 ? 'warn' : 'good',
			bold: true,
			text: `${summary.failed > 0 ? '!' : '✓'} Captured ${summary.ok} of ${plural(summary.items, 'item')}, ${formatBytes(summary.bytes)}, in ${(ms / 1000).toFixed(1)} s${summary.failed > 0 ? ` · ${summary.failed} failed` : ''}`,
		},
	];
	if (result.fellBack) lines.push({key: 'fell-back', tone: 'warn', text: `The state dir's disk is full (${result.fellBack.reason}): everything went to ${result.fellBack.to} (tmpfs: lost on reboot; copy it off the box)`});
	for (const item of manifest.items.filter(i => !i.ok)) lines.push({key: `failed-${item.id}`, tone: 'bad', text: `  ✗ ${item.file}: ${item.error}`});
	for (const item of manifest.items.filter(i => i.truncated)) lines.push({key: `cut-${item.id}`, tone: 'muted', text: `  ✂ ${item.file}: ${item.note}`});
	const counts = manifest.redaction.counts;
	lines.push({key: 'redacted', text: `Redacted ${plural(countTotal(counts), 'value')}${countsText(counts)}`});
	lines.push({key: 'bundle', bold: true, wrap: true, text: `Bundle  ${bundle.file} (${formatBytes(bundle.bytes)})`});
	lines.push({key: 'sha', text: `sha256  ${bundle.sha256}  (${bundle.sidecar.split('/').at(-1)} beside it)`});
	lines.push({key: 'files', tone: 'muted', text: `Files   ${result.dir}/ (manifest.json says how each was collected)`});
	return lines;
}

function runLines(run: RunState, columns: number, now: number): Line[] {
	const width = Math.max(10, Math.min(40, columns - 60));
	const lines: Line[] = [
		{
			key: 'bar',
			bold: true,
			text: `Capturing ${progressBar(run.finished, run.total, width)} ${run.finished}/${run.total} items · ${formatBytes(run.bytes)} · ${Math.max(0, Math.round((now - run.started) / 1000))} s`,
		},
	];
	for (const item of run.running) lines.push({key: `run-${item.id}`, tone: 'muted', text: `  … ${item.what}`});
	for (const [i, failed] of run.failed.entries()) lines.push({key: `fail-${i}`, tone: 'bad', text: `  ✗ ${failed.file}: ${failed.error}`});
	return lines;
}

function advance(run: RunState | null, p: CaptureProgress): RunState | null {
	if (!run) return run;
	if (p.state === 'running') return {...run, total: p.total, running: [...run.running, p.item]};
	return {
		...run,
		total: p.total,
		finished: p.finished,
		bytes: run.bytes + p.bytes,
		running: run.running.filter(item => item.id !== p.item.id),
		failed: p.state === 'failed' ? [...run.failed, {file: p.item.file, error: p.error ?? 'failed'}] : run.failed,
	};
}

/**
 * Step 2: before changing anything, copy what the postmortem needs. Shows what will be
 * collected and about how big it is; enter runs the capture with a progress bar; then
 * what was captured, what failed and where the bundle is.
 */
export function EvidenceStep({model, record, events, rows, columns, active, onClose, onQuit}: EvidenceStepProps) {
	const [phase, setPhaseState] = useState<Phase>('planning');
	const phaseRef = useRef<Phase>('planning');
	const setPhase = (next: Phase) => {
		phaseRef.current = next;
		setPhaseState(next);
	};
	const [plan, setPlan] = useState<EvidencePlanView | null>(null);
	const [planError, setPlanError] = useState<string | null>(null);
	const [run, setRun] = useState<RunState | null>(null);
	const [result, setResult] = useState<{capture: CaptureResult; ms: number} | null>(null);
	const [failure, setFailure] = useState<string | null>(null);
	const [notices, setNotices] = useState<string[]>([]);
	const capture = useRef<AbortController | null>(null);

	const loadPlan = () => {
		const controller = new AbortController();
		setPlanError(null);
		model.planEvidence(controller.signal).then(
			next => {
				if (controller.signal.aborted) return;
				setPlan(next);
				if (phaseRef.current === 'planning') setPhase('ready');
			},
			(error: unknown) => {
				if (controller.signal.aborted) return;
				setPlanError(errorText(error));
				if (phaseRef.current === 'planning') setPhase('ready');
			},
		);
		return controller;
	};

	useEffect(() => {
		const planning = loadPlan();
		return () => {
			planning.abort();
			// Leaving the step (or the console) stops a capture: it stays marked incomplete.
			capture.current?.abort(new Error('the console closed'));
		};
	}, [model]);

	const start = () => {
		const controller = new AbortController();
		capture.current = controller;
		const started = Date.now();
		setPhase('running');
		setRun({started, total: plan?.items.length ?? 0, finished: 0, bytes: 0, running: [], failed: []});
		setResult(null);
		setFailure(null);
		setNotices([]);
		model
			.captureEvidence({record, onNotice: text => setNotices(list => [...list, text])}, progress => setRun(current => advance(current, progress)), controller.signal)
			.then(
				done => {
					setResult({capture: done, ms: Date.now() - started});
					setPhase('done');
				},
				(error: unknown) => {
					setFailure(controller.signal.aborted ? `cancelled: ${errorText(error)}` : errorText(error));
					setPhase('failed');
				},
			)
			.finally(() => {
				if (capture.current === controller) capture.current = null;
			});
	};

	useInput(
		(input, key) => {
			const current = phaseRef.current;
			if (current === 'running') {
				if (key.escape) capture.current?.abort(new Error('cancelled by the operator'));
				if (input === 'q') {
					capture.current?.abort(new Error('the console closed'));
					onQuit();
				}
				return;
			}
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			if (key.return && current !== 'planning') return start();
			if (input === 'p' && current !== 'planning') {
				setPhase('ready');
				loadPlan();
			}
		},
		{isActive: active},
	);

	const top: Line[] = [];
	const previous = lastCapture(events);
	if (previous && phase !== 'done') {
		top.push({
			key: 'previous',
			tone: 'muted',
			text: `Last capture ${when(previous.time)} by ${previous.user}: ${plural(previous.items, 'item')}${previous.failed ? `, ${previous.failed} failed` : ''}${previous.redact ? '' : ', NOT redacted'} · ${previous.bundle}`,
		});
	}

	let body: Line[] = [];
	if (phase === 'planning') body = [{key: 'planning', tone: 'muted', text: 'Looking at what there is to collect…'}];
	if (phase === 'ready' || phase === 'done' || phase === 'failed') {
		if (planError) body.push({key: 'plan-error', tone: 'bad', text: `Could not look at what to collect (p: look again): ${planError}`});
		else if (plan && phase === 'ready') body.push(...planLines(plan));
	}
	if (phase === 'ready') {
		body.push(
			{key: 'into', tone: 'muted', text: `Into ${model.incident.dir}/evidence/<capture>/ and a .tar.gz (0600) with its .sha256 in bundles/`},
			{key: 'redaction', tone: 'muted', text: 'Secrets are redacted: env values, URL credentials, tokens, cookies, AWS key ids, private keys.'},
			{key: 'no-redact', tone: 'muted', text: 'An unredacted bundle only from the command line: rollback-console capture --no-redact'},
		);
	}
	if (phase === 'running' && run) body.push(...runLines(run, columns, Date.now()));
	if (phase === 'done' && result) body.push(...resultLines(result.capture, result.ms));
	if (phase === 'failed' && failure) body.push({key: 'failure', tone: 'bad', bold: true, text: `✗ ${failure}`});
	for (const [i, notice] of notices.entries()) body.push({key: `notice-${i}`, tone: 'warn', text: notice});
	if (model.readOnly && phase !== 'running') {
		body.push({key: 'read-only', tone: 'warn', text: `read-only${model.readOnlyReason ? ` (${model.readOnlyReason})` : ''}: capturing is allowed: it changes nothing on the box, it only writes the bundle and notes it in the timeline`});
	}

	const keys =
		phase === 'running'
			? 'esc: cancel the capture  q: cancel and quit'
			: phase === 'planning'
				? 'esc: back  q: quit'
				: `enter: ${phase === 'ready' ? 'capture' : 'capture again'}  p: look again  esc: back  q: quit`;

	// Title, then what fits; the key line always shows.
	const inner = Math.max(10, columns - 4);
	const height = (line: Line) => (line.wrap ? Math.max(1, Math.ceil(line.text.length / inner)) : 1);
	const room = Math.max(0, rows - 2 - 1 - 1);
	const all = [...top, ...body];
	let shown = all;
	if (all.reduce((sum, line) => sum + height(line), 0) > room) {
		shown = [];
		let used = 1;
		for (const line of all) {
			if (used + height(line) > room) break;
			shown.push(line);
			used += height(line);
		}
		shown.push({key: 'more', tone: 'muted', text: `  … ${all.length - shown.length} more lines (a taller terminal shows them)`});
	}

	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} height={rows} flexShrink={0} overflow="hidden">
			<Text wrap="truncate-end">
				<Text bold>Step 2 · Capture evidence</Text>
				<Toned tone="muted"> · before changing anything, copy what the postmortem needs</Toned>
			</Text>
			{shown.map(line => (
				<Text key={line.key} wrap={line.wrap ? 'wrap' : 'truncate-end'}>
					{line.tone ? (
						<Toned tone={line.tone} bold={line.bold}>
							{line.text}
						</Toned>
					) : (
						<Text bold={line.bold}>{line.text}</Text>
					)}
				</Text>
			))}
			<Box flexGrow={1} />
			<Text wrap="truncate-end">
				<Toned tone="muted">{keys}</Toned>
			</Text>
		</Box>
	);
}
