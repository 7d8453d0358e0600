import {Box, Text, useInput} from 'ink';
import {useCallback, useEffect, useRef, useState, type ReactNode} from 'react';
import type {DiskAction, DiskReport, FsReport} from '../../incident/disk/plan.js';
import type {DiskActionResult, DiskPruneResult} from '../../incident/disk/run.js';
import type {StepId, TimelineEvent} from '../../incident/timeline.js';
import {actionVerbs, clip, clipName, formatPercent, usageBar} from '../../presentation/disk-format.js';
import {formatBytes} from '../../presentation/format.js';
import type {ConsoleModel} from '../console-model.js';
import {Toned} from '../theme.js';
import type {StepProps} from './step-props.js';

export type DiskStepProps = Pick<StepProps, 'model' | 'record' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

type Confirming =
	| {kind: 'one'; action: DiskAction; typed: string}
	| {kind: 'all'; actions: DiskAction[]};

interface Loaded {
	report: DiskReport | null;
	loading: boolean;
	error: string | null;
}

const fsName: Record<FsReport['label'], string> = {root: '/', docker: 'docker', state: 'state'};
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const printable = (text: string) => text.replace(/[\u0000-\u001F\u007F-\u009F]/g, '');

function resultText(r: DiskActionResult): string {
	if (!r.ok) return `✗ ${r.error ?? 'failed'}`;
	return `✓ freed ${formatBytes(r.bytesFreed)}${r.measuredBy === 'estimate' ? ' (estimated)' : ''}`;
}

/**
 * Step 5: free disk space without touching the rollback images or database volumes. Shows
 * usage against the threshold, Docker's breakdown and the largest logs, then the plan: each
 * action with its size runs one at a time on a confirmation (typed for volumes and logs);
 * `k` shows what is kept and why. Every run is recorded in the timeline.
 */
export function DiskStep({model, record, rows, columns, active, onClose, onQuit}: DiskStepProps) {
	const disk = model.disk;
	const [loaded, setLoaded] = useState<Loaded>({report: null, loading: Boolean(disk), error: null});
	const [cursor, setCursor] = useState(0);
	const [showKept, setShowKept] = useState(false);
	const [keptScroll, setKeptScroll] = useState(0);
	const [confirming, setConfirmingState] = useState<Confirming | null>(null);
	const confirmingRef = useRef(confirming);
	const setConfirming = (next: Confirming | null) => {
		confirmingRef.current = next;
		setConfirmingState(next);
	};
	const [running, setRunning] = useState<{done: number; total: number; current: string} | null>(null);
	const [results, setResults] = useState<Map<string, DiskActionResult>>(new Map());
	const [last, setLast] = useState<DiskPruneResult | null>(null);
	const [note, setNote] = useState<string | null>(null);
	const controller = useRef<AbortController | null>(null);

	const gather = useCallback(() => {
		if (!disk) return;
		controller.current?.abort();
		const current = new AbortController();
		controller.current = current;
		setLoaded(l => ({...l, loading: true, error: null}));
		disk.gather(current.signal).then(
			report => !current.signal.aborted && setLoaded({report, loading: false, error: null}),
			(error: unknown) => !current.signal.aborted && setLoaded(l => ({...l, loading: false, error: message(error)})),
		);
	}, [disk]);

	useEffect(() => {
		gather();
		return () => controller.current?.abort();
	}, [gather]);

	const report = loaded.report;
	const actions = report?.plan.actions ?? [];
	const selected = actions[Math.min(cursor, Math.max(0, actions.length - 1))] ?? null;
	const safe = actions.filter(a => a.safe);

	const run = async (list: DiskAction[]) => {
		if (!disk || list.length === 0) return;
		setConfirming(null);
		setRunning({done: 0, total: list.length, current: list[0]!.name});
		try {
			const outcome = await disk.run(list, record, (result, index) => {
				setResults(previous => new Map(previous).set(result.id, result));
				setRunning({done: index + 1, total: list.length, current: list[index + 1]?.name ?? ''});
			});
			setLast(outcome);
			if (outcome.failed === 0) {
				// Done when the watched filesystems are back under the threshold.
				const refreshed = await disk.gather();
				setLoaded({report: refreshed, loading: false, error: null});
				if (!refreshed.over) await record('disk', 'step_status', {status: 'done'});
			} else {
				gather();
			}
		} catch (error) {
			setNote(`could not run: ${message(error)}`);
			gather();
		} finally {
			setRunning(null);
		}
	};

	useInput(
		(input, key) => {
			if (note) setNote(null);
			const asking = confirmingRef.current;
			if (asking?.kind === 'one' && asking.action.typed) {
				// Typed confirmation: q and the letters are text here.
				if (key.escape) return setConfirming(null);
				if (key.return) {
					if (asking.typed === asking.action.typed) return void run([asking.action]);
					setNote(`"${asking.typed}" is not ${asking.action.typed}: nothing was run`);
					return setConfirming(null);
				}
				if (key.backspace || key.delete) return setConfirming({...asking, typed: asking.typed.slice(0, -1)});
				if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.tab) return;
				const text = printable(input);
				if (text) setConfirming({...asking, typed: (asking.typed + text).slice(0, 64)});
				return;
			}
			if (asking) {
				if (input === 'y') return void run(asking.kind === 'all' ? asking.actions : [asking.action]);
				if (input === 'n' || key.escape) return setConfirming(null);
				return;
			}
			if (running) return;
			if (key.escape) return showKept ? setShowKept(false) : onClose();
			if (input === 'q') return onQuit();
			if (input === 'k') return setShowKept(s => !s);
			if (input === 'r') return gather();
			if (showKept) {
				if (key.upArrow) setKeptScroll(s => Math.max(0, s - 1));
				if (key.downArrow) setKeptScroll(s => s + 1);
				return;
			}
			if (key.upArrow) return setCursor(c => Math.max(0, Math.min(c, actions.length - 1) - 1));
			if (key.downArrow) return setCursor(c => Math.min(Math.max(0, actions.length - 1), c + 1));
			if ((key.return || input === 'a') && model.readOnly) {
				return setNote(`read-only${model.readOnlyReason ? ` (${model.readOnlyReason})` : ''}: nothing runs`);
			}
			if (key.return && selected) return setConfirming({kind: 'one', action: selected, typed: ''});
			if (input === 'a' && safe.length > 0) return setConfirming({kind: 'all', actions: safe});
		},
		{isActive: active},
	);

	const width = Math.max(20, columns - 4);
	const head: ReactNode[] = [];
	head.push(
		<Text key="title" wrap="truncate-end">
			<Text bold>Step 5 · Free disk</Text>
			<Toned tone="muted"> · never the rollback images or database volumes</Toned>
		</Text>,
	);
	if (!disk) {
		head.push(
			<Text key="none" wrap="truncate-end">
				<Toned tone="warn">No engine to free space on in this console.</Toned>
			</Text>,
		);
	} else if (!report) {
		head.push(
			<Text key="loading" wrap="truncate-end">
				{loaded.error ? <Toned tone="bad">could not read the disk: {loaded.error} · r: try again</Toned> : <Toned tone="muted">reading usage, images, containers, volumes and logs…</Toned>}
			</Text>,
		);
	} else {
		for (const f of report.filesystems) {
			const label = `${fsName[f.label].padEnd(6)} ${clip(f.path, 22).padEnd(22)} `;
			head.push(
				<Text key={`fs-${f.label}`} wrap="truncate-end">
					{label}
					{f.sameAs ? (
						<Toned tone="muted">same filesystem as {report.filesystems.find(x => x.label === f.sameAs)?.path}</Toned>
					) : (
						<>
							<Toned tone={f.over ? 'bad' : 'good'}>{usageBar(f.usedPercent, report.thresholdPercent, 20)}</Toned>
							{` ${formatPercent(f.usedPercent).padStart(4)}  ${formatBytes(f.free)} free of ${formatBytes(f.size)}`}
							{f.over ? <Toned tone="bad"> over {report.thresholdPercent}%</Toned> : null}
						</>
					)}
				</Text>,
			);
		}
		const d = report.docker;
		head.push(
			<Text key="df" wrap="truncate-end">
				<Toned tone="muted">
					Docker: images {formatBytes(d.images.size)} ({formatBytes(d.images.reclaimable)} reclaimable) · containers {formatBytes(d.containers.size)} · volumes {formatBytes(d.volumes.size)} · build cache {formatBytes(d.buildCache.size)}
				</Toned>
			</Text>,
			<Text key="logs" wrap="truncate-end">
				<Toned tone="muted">
					{report.logs.length > 0
						? `Largest logs: ${report.logs
								.slice(0, 3)
								.map(l => `${l.container} ${formatBytes(l.allocated)}`)
								.join(' · ')}`
						: 'Largest logs: none readable'}
				</Toned>
			</Text>,
			<Text key="plan" wrap="truncate-end">
				<Text bold>{showKept ? 'Kept, and why' : 'Plan'} </Text>
				{showKept ? (
					<Toned tone="muted">{report.plan.protected.length} items · k: back to the plan</Toned>
				) : (
					<>
						<Toned tone={safe.length > 0 ? 'good' : 'muted'}>
							{safe.length > 0 ? `${safe.length} safe (about ${formatBytes(report.plan.estimate.safe)})` : 'nothing safe to remove'}
						</Toned>
						<Toned tone="muted">
							{actions.length > safe.length ? ` · ${actions.length - safe.length} need a typed confirmation (about ${formatBytes(report.plan.estimate.optional)})` : ''} ·{' '}
							{report.plan.protected.length} kept (k)
							{loaded.loading ? ' · refreshing…' : ''}
						</Toned>
					</>
				)}
			</Text>,
		);
	}

	const tail: ReactNode[] = [];
	if (confirming?.kind === 'one' && confirming.action.typed) {
		tail.push(
			<Text key="ask" wrap="truncate-end">
				<Toned tone="warn" bold>
					{actionVerbs[confirming.action.kind]} {clip(confirming.action.name, 24)}: type {confirming.action.typed} to confirm{' '}
				</Toned>
				{'> '}
				{confirming.typed}
				<Text inverse> </Text>
			</Text>,
		);
	} else if (confirming) {
		const text =
			confirming.kind === 'all'
				? `run the ${confirming.actions.length} safe actions, one at a time (about ${formatBytes(confirming.actions.reduce((s, a) => s + a.bytes, 0))})? y/n`
				: `${actionVerbs[confirming.action.kind]} ${confirming.action.name}? y/n — ${confirming.action.does}`;
		tail.push(
			<Text key="ask" wrap="truncate-end">
				<Toned tone="warn" bold>
					{text}
				</Toned>
			</Text>,
		);
	} else if (running) {
		tail.push(
			<Text key="running" wrap="truncate-end">
				<Toned tone="warn">
					running {Math.min(running.done + 1, running.total)}/{running.total}
					{running.current ? `: ${running.current}` : ''}…
				</Toned>
			</Text>,
		);
	} else if (note) {
		tail.push(
			<Text key="note" wrap="truncate-end">
				<Toned tone="bad">{note}</Toned>
			</Text>,
		);
	} else if (last) {
		tail.push(
			<Text key="last" wrap="truncate-end">
				<Toned tone={last.failed > 0 ? 'bad' : 'good'}>
					Last run: {last.results.length} action{last.results.length === 1 ? '' : 's'}, freed {formatBytes(last.freedBytes)} (estimate {formatBytes(last.estimate)})
					{last.before !== null && last.after !== null ? `; free ${formatBytes(last.before)} → ${formatBytes(last.after)}` : ''}
					{last.failed > 0 ? `; ${last.failed} failed` : ''}
				</Toned>
			</Text>,
		);
	} else if (selected && !showKept) {
		tail.push(
			<Text key="does" wrap="truncate-end">
				<Toned tone="muted">{selected.does}</Toned>
			</Text>,
		);
	}
	const keys = confirming
		? confirming.kind === 'one' && confirming.action.typed
			? 'type the characters  enter: confirm  esc: cancel  (q is a letter here)'
			: 'y: run  n/esc: cancel'
		: showKept
			? '↑↓ scroll  k: plan  r: refresh  esc: back  q: quit'
			: `↑↓ move  ${model.readOnly ? '' : 'enter: run this  a: all safe  '}k: kept  r: refresh  esc: back  q: quit`;

	// What is left for the list: the box's border, the head and the tail lines, the keys.
	const listRows = Math.max(1, rows - 2 - head.length - tail.length - 1);
	const list: ReactNode[] = [];
	if (report && showKept) {
		// Two lines an item: the reason is the point of this view.
		const items = report.plan.protected;
		const fit = Math.max(1, Math.floor(listRows / 2));
		const offset = Math.min(keptScroll, Math.max(0, items.length - fit));
		for (const item of items.slice(offset, offset + fit)) {
			list.push(
				<Text key={`kept-${item.kind}-${item.target}`} wrap="truncate-end">
					{`  ${item.kind.padEnd(9)} ${clipName(item.kind, item.name, 48).padEnd(48)} ${formatBytes(item.bytes).padStart(8)}`}
				</Text>,
				<Text key={`why-${item.kind}-${item.target}`} wrap="truncate-end">
					{'            '}
					<Toned tone="muted">{item.reason}</Toned>
				</Text>,
			);
		}
	} else if (report) {
		const at = Math.min(cursor, Math.max(0, actions.length - 1));
		const first = Math.max(0, Math.min(at - listRows + 1, actions.length - listRows));
		for (const [i, a] of actions.slice(first, first + listRows).entries()) {
			const index = first + i;
			const result = results.get(a.id);
			const mark = index === at ? '›' : ' ';
			const line = `${mark} ${(actionVerbs[a.kind] ?? a.kind).padEnd(17)} ${clipName(a.kind, a.name, 28).padEnd(28)} ${formatBytes(a.bytes).padStart(8)}  `;
			list.push(
				<Text key={a.id} wrap="truncate-end">
					<Toned tone={index === at ? 'warn' : 'plain'} bold={index === at}>
						{line}
					</Toned>
					{a.typed ? <Toned tone="warn">typed · </Toned> : null}
					{result ? <Toned tone={result.ok ? 'good' : 'bad'}>{resultText(result)} · </Toned> : null}
					<Toned tone="muted">{clip(a.detail, Math.max(10, width - line.length))}</Toned>
				</Text>,
			);
		}
		if (actions.length === 0) {
			list.push(
				<Text key="empty" wrap="truncate-end">
					<Toned tone="muted">  nothing to remove safely · k: what is kept, and why</Toned>
				</Text>,
			);
		}
	}

	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} height={rows} flexShrink={0} overflow="hidden">
			{head}
			<Box flexDirection="column" height={listRows} overflow="hidden">
				{list}
			</Box>
			{tail}
			<Text wrap="truncate-end">
				<Toned tone="muted">{keys}</Toned>
			</Text>
		</Box>
	);
}
