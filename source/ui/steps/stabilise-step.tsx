import {Box, Text, useInput} from 'ink';
import {useCallback, useEffect, useRef, useState, type ReactNode} from 'react';
import type {Candidate} from '../../incident/stabilise/releases.js';
import type {RollbackPlan} from '../../incident/stabilise/plan.js';
import type {ConsoleModel} from '../console-model.js';
import type {RunView, StabilisePrepared} from '../stabilise-model.js';
import {Toned} from '../theme.js';
import type {StepProps} from './step-props.js';

export type StabiliseStepProps = Pick<StepProps, 'model' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

type Phase = 'loading' | 'plan' | 'confirm' | 'starting' | 'running' | 'done';

const short = (digest: string | null | undefined) => (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '-');
const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}` : '');
const printable = (text: string) => text.replace(/[\u0000-\u001F\u007F-\u009F]/g, '');

function candidateLine(c: Candidate, cursor: boolean, target: boolean): {tone: 'good' | 'warn' | 'plain' | 'muted'; text: string} {
	const marks = [c.current ? 'current' : '', c.lastKnownGood ? 'last known good' : '', c.verified ? `verified ${when(c.verifiedAt)}` : c.rolledBack ? 'rolled back from' : '', c.repushed ? 'RE-PUSHED' : '']
		.filter(Boolean)
		.join(', ');
	const where = [c.registry.present ? `registry ${short(c.registry.digest)}` : c.registry.present === false ? 'not in registry' : '', c.local ? 'local' : '']
		.filter(Boolean)
		.join(' · ');
	const text = `${cursor ? '›' : ' '}${target ? '●' : ' '} ${(c.lastKnownGood ? '★ ' : '  ') + c.tag.padEnd(14)} ${marks.padEnd(36)} ${where}`;
	return {tone: c.lastKnownGood ? 'good' : c.current ? 'warn' : c.verified ? 'plain' : 'muted', text};
}

/**
 * Step 3: roll the release services back to the last known good release (or another
 * candidate): the plan with its diff, commands and warnings; typing the target tag runs it in
 * the detached worker, whose output is followed here. Closing the console does not stop it.
 */
export function StabiliseStep({model, rows, columns, active, onClose, onQuit}: StabiliseStepProps) {
	const api = model.stabilise;
	const [phase, setPhaseState] = useState<Phase>('loading');
	const phaseRef = useRef<Phase>('loading');
	const setPhase = (p: Phase) => {
		phaseRef.current = p;
		setPhaseState(p);
	};
	const [prepared, setPrepared] = useState<StabilisePrepared | null>(null);
	const [cursor, setCursor] = useState(0);
	const [typed, setTypedState] = useState('');
	const typedRef = useRef('');
	const setTyped = (t: string) => {
		typedRef.current = t;
		setTypedState(t);
	};
	const [run, setRun] = useState<RunView | null>(null);
	const [message, setMessage] = useState<string | null>(null);
	const [readOnly, setReadOnly] = useState(model.readOnly);
	const request = useRef(0);
	const following = useRef<AbortController | null>(null);

	const prepare = useCallback(
		(to: string | null) => {
			if (!api) return;
			const id = ++request.current;
			api.prepare(to).then(
				p => {
					if (id !== request.current) return;
					setPrepared(p);
					if (to === null) setCursor(Math.max(0, p.candidates.findIndex(c => c.tag === p.plan?.to.tag)));
					if (phaseRef.current === 'loading') setPhase('plan');
				},
				(error: unknown) => {
					if (id !== request.current) return;
					setMessage(error instanceof Error ? error.message : String(error));
					if (phaseRef.current === 'loading') setPhase('plan');
				},
			);
		},
		[api],
	);

	const follow = useCallback(
		(runId: string) => {
			if (!api) return;
			following.current?.abort();
			const controller = new AbortController();
			following.current = controller;
			void api
				.follow(runId, view => !controller.signal.aborted && setRun(view), controller.signal)
				.then(last => {
					if (controller.signal.aborted) return;
					if (last) setRun(last);
					setPhase('done');
					setReadOnly(model.readOnly);
					// What runs now, and the candidates as they stand after the run.
					prepare(null);
				})
				.catch((error: unknown) => setMessage(`lost the worker: ${error instanceof Error ? error.message : String(error)}`));
		},
		[api, model],
	);

	useEffect(() => {
		if (!api) return;
		// Reopened while a worker runs (the SSH session dropped): follow it rather than plan anew.
		void api.latest().then(latest => {
			if (latest?.running) {
				setRun(latest);
				setPhase('running');
				follow(latest.runId);
			} else {
				if (latest?.result) setRun(latest);
				prepare(null);
			}
		});
		return () => following.current?.abort();
	}, [api]);

	const plan: RollbackPlan | null = prepared?.plan ?? null;
	const candidates = prepared?.candidates ?? [];

	const start = async (p: RollbackPlan) => {
		if (!api) return;
		setPhase('starting');
		try {
			const started = await api.start(p);
			setRun(started);
			setPhase('running');
			follow(started.runId);
		} catch (error) {
			setMessage(error instanceof Error ? error.message : String(error));
			setPhase('plan');
		}
	};

	useInput(
		(input, key) => {
			if (message) setMessage(null);
			const now = phaseRef.current;
			if (now === 'confirm') {
				if (key.escape) {
					setTyped('');
					return setPhase('plan');
				}
				if (key.return) {
					const expected = plan?.to.tag ?? '';
					if (plan && typedRef.current === expected) return void start(plan);
					setMessage(`typed "${typedRef.current}", not ${expected}: nothing runs`);
					return;
				}
				if (key.backspace || key.delete) return setTyped(typedRef.current.slice(0, -1));
				if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow) return;
				const text = printable(input);
				if (text) setTyped((typedRef.current + text).slice(0, 140));
				return;
			}
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			if (now === 'running' || now === 'starting' || now === 'loading') return;
			if (input === 'r') {
				setPhase('plan');
				return prepare(candidates[cursor]?.tag ?? null);
			}
			if (input === 't' && api && prepared && prepared.lock.state !== 'mine') {
				void api.takeLock(prepared.lock.state === 'stale').then(result => {
					setMessage(result.message);
					setReadOnly(model.readOnly);
					prepare(candidates[cursor]?.tag ?? null);
				});
				return;
			}
			if ((key.upArrow || key.downArrow) && candidates.length > 0) {
				const next = Math.min(candidates.length - 1, Math.max(0, cursor + (key.upArrow ? -1 : 1)));
				setCursor(next);
				setPhase('plan');
				return prepare(candidates[next]!.tag);
			}
			if (key.return && plan && now === 'plan') {
				if (readOnly) return setMessage(`read-only (${model.readOnlyReason ?? 'another operator holds the project'}): nothing can run from this console`);
				setTyped('');
				setPhase('confirm');
			}
		},
		{isActive: active},
	);

	// ---- drawing ------------------------------------------------------------------------

	const width = Math.max(20, columns - 4);
	const lines: ReactNode[] = [];
	const line = (key: string, text: string, tone: 'good' | 'bad' | 'warn' | 'muted' | 'plain' = 'plain', bold = false) =>
		lines.push(
			<Text key={key} wrap="truncate-end">
				<Toned tone={tone} bold={bold}>
					{text.slice(0, width + 40)}
				</Toned>
			</Text>,
		);
	const inner = Math.max(4, rows - 2);

	if (!api) {
		line('none', 'The rollback machinery is not available in this console.', 'warn');
	} else {
		line(
			'head',
			`current ${prepared?.current ?? run?.from ?? '…'} · last known good ${prepared ? (prepared.lastKnownGood ?? 'none (pick a release below)') : '…'}${prepared?.registryProblem ? ` · registry: ${prepared.registryProblem}` : ''}`,
			'plain',
			true,
		);
		if (readOnly) line('ro', `read-only: ${model.readOnlyReason ?? 'another operator holds the project'}${prepared?.lock.state === 'stale' ? '' : ''}`, 'warn');
		if (phase === 'loading') line('loading', 'gathering: containers, releases.jsonl, registry tags, local images…', 'muted');

		if (phase === 'running' || phase === 'starting' || phase === 'done') {
			const r = run;
			if (r) {
				line('run', `${r.kind} ${r.from ?? '-'} → ${r.to}${r.running ? ` · running in worker pid ${r.pid ?? '?'} (closing the console does not stop it)` : ''}`, 'plain', true);
				if (r.result) {
					line(
						'result',
						r.result.success
							? `✓ ${r.kind} to ${r.to} complete in ${(r.result.duration / 1000).toFixed(1)} s: release services run it and are healthy`
							: `✗ ${r.kind} to ${r.to} FAILED: ${r.result.message ?? 'see the output'} — the stack is left as it is (no automatic retry)`,
						r.result.success ? 'good' : 'bad',
						true,
					);
				} else if (!r.running && phase === 'done') line('noresult', '✗ the worker ended without a result: see its output', 'bad');
				const budget = Math.max(1, inner - lines.length - 2);
				const source = r.result && !r.result.success && r.result.logs.length > 0 ? [`last ${r.result.logs.length} log lines of ${r.result.failedService}:`, ...r.result.logs] : r.output.split('\n').filter(Boolean);
				for (const [i, l] of source.slice(-budget).entries()) line(`out-${i}`, `  ${l}`, 'muted');
			} else line('starting', 'starting the worker…', 'muted');
		} else if (prepared) {
			const listRows = Math.min(candidates.length, Math.max(2, Math.floor(inner / 4)));
			const first = Math.max(0, Math.min(cursor - Math.floor(listRows / 2), candidates.length - listRows));
			for (const [i, c] of candidates.slice(first, first + listRows).entries()) {
				const l = candidateLine(c, first + i === cursor, c.tag === plan?.to.tag);
				line(`cand-${c.tag}`, l.text, l.tone);
			}
			if (prepared.error) line('error', `✗ ${prepared.error}`, 'bad');
			if (plan) {
				const detail: Array<[string, string, 'plain' | 'muted' | 'warn' | 'good']> = [];
				detail.push(['to', `Roll back to ${plan.to.tag}${plan.to.pinned ? ` pinned to ${short(plan.to.pinned)}` : ''}${plan.to.verified ? ' (verified)' : ''}:`, 'plain']);
				for (const s of plan.services) {
					detail.push([`svc-${s.service}`, `  ${s.service.padEnd(12)} ${(s.from.tag ?? '-').padEnd(10)} ${short(s.from.digest)} → ${s.to.tag.padEnd(10)} ${short(s.to.digest)}  ${s.to.local ? 'on this box' : 'to pull'}`, 'plain']);
				}
				for (const [i, c] of plan.commands.entries()) detail.push([`cmd-${i}`, `  $ ${c.skip ? '(skipped) ' : ''}${c.display.replace(/ --project-directory \S+ -f \S+( -f \S+)* -p \S+/, '')}`, 'muted']);
				if (plan.durable.persist !== 'none') {
					for (const [i, d] of plan.durable.diff.trimEnd().split('\n').filter(l => /^[-+](?![-+]{2} )/.test(l)).entries()) detail.push([`diff-${i}`, `  ${d}`, d.startsWith('+') ? 'good' : 'warn']);
				}
				for (const [i, n] of plan.notes.entries()) detail.push([`note-${i}`, `  note: ${n}`, 'muted']);
				for (const [i, w] of plan.warnings.entries()) detail.push([`warn-${i}`, `  ! ${w.text}`, 'warn']);
				for (const [key, text, tone] of detail.slice(0, Math.max(1, inner - lines.length - 2))) line(key, text, tone);
			}
			if (phase === 'confirm' && plan) {
				line('confirm', `Type ${plan.to.tag} and Enter to roll back (confirming acknowledges the warnings; Esc cancels): ${typed}█`, 'warn', true);
			}
		}
		if (run?.result && phase === 'plan') line('last', `last run ${run.runId}: ${run.result.success ? 'succeeded' : `failed: ${run.result.message}`}`, 'muted');
	}
	if (message) line('message', message, 'warn');
	const keys =
		phase === 'confirm'
			? 'type the tag · enter: run · esc: cancel'
			: phase === 'running' || phase === 'starting'
				? 'esc: back (the worker carries on) · q: quit'
				: `↑↓: candidate · enter: confirm · r: refresh${prepared && prepared.lock.state !== 'mine' && readOnly ? ' · t: take the lock' : ''} · esc: back · q: quit`;

	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} height={rows} flexGrow={1}>
			<Text bold>Step 3 · Stabilise</Text>
			{lines.slice(0, Math.max(1, inner - 2))}
			<Box flexGrow={1} />
			<Text wrap="truncate-end">
				<Toned tone="muted">{keys}</Toned>
			</Text>
		</Box>
	);
}
