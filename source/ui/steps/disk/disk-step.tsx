import {Text, useInput} from 'ink';
import {useEffect, useState} from 'react';
import type {DiskAction} from '../../../incident/disk/plan.js';
import {diskStepSettled, type DiskActionResult, type DiskPruneResult} from '../../../incident/disk/run.js';
import {stepStatuses} from '../../../incident/incident-store.js';
import {recordStatus} from '../../../incident/step-kit.js';
import {actionVerbs, clip} from '../../../presentation/disk-format.js';
import {formatBytes} from '../../../presentation/format.js';
import {errorText} from '../../../presentation/text.js';
import type {Line} from '../../kit/line.js';
import {StepFrame} from '../../kit/step-frame.js';
import {useAbortableLoad} from '../../kit/use-abortable-load.js';
import {useLatest} from '../../kit/use-latest.js';
import {useTypedConfirmation} from '../../kit/use-typed-confirmation.js';
import {FooterLine} from '../../components/footer-line.js';
import {Toned} from '../../theme.js';
import type {StepProps} from '../step-props.js';
import {actionLines, headLines, keptLines, lastRunText} from './disk-lines.js';

export type DiskStepProps = Pick<StepProps, 'model' | 'record' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'> & Partial<Pick<StepProps, 'events'>>;

/** A yes/no question about running one action, or every safe one. */
type Asking = {kind: 'one'; action: DiskAction} | {kind: 'all'; actions: DiskAction[]};

/**
 * Step 5: free disk space without touching the rollback images or database volumes. Shows
 * usage against the threshold, Docker's breakdown and the largest logs, then the plan: each
 * action with its size runs one at a time on a confirmation (typed for volumes and logs);
 * `k` shows what is kept and why. The domain (runDiskStep) records each action and the
 * step's status, as `disk prune` does.
 */
export function DiskStep({model, record, events, rows, columns, active, onClose, onQuit}: DiskStepProps) {
	const disk = model.disk;
	const loaded = useAbortableLoad(disk ? signal => disk.gather(signal) : null, [disk]);
	const [cursor, setCursor] = useState(0);
	const [showKept, setShowKept] = useState(false);
	const [keptScroll, setKeptScroll] = useState(0);
	const [asking, setAsking, askingRef] = useLatest<Asking | null>(null);
	const typed = useTypedConfirmation<DiskAction>(64);
	const [running, setRunning, runningRef] = useLatest<{done: number; total: number; current: string} | null>(null);
	const [results, setResults] = useState<Map<string, DiskActionResult>>(new Map());
	const [last, setLast] = useState<DiskPruneResult | null>(null);
	const [note, setNote] = useState<string | null>(null);

	const report = loaded.value;
	// Under the threshold there is nothing to free: the step is done, and the checklist says so.
	useEffect(() => {
		if (!report || model.readOnly || runningRef.current) return;
		const settled = diskStepSettled(report);
		const last = events ? stepStatuses(events).disk : null;
		if (settled && last?.status !== 'done') void recordStatus(record, 'disk', settled.status, settled.reason).catch(() => {});
	}, [report]);
	const actions = report?.plan.actions ?? [];
	const at = Math.min(cursor, Math.max(0, actions.length - 1));
	const selected = actions[at] ?? null;
	const safe = actions.filter(a => a.safe);

	const run = async (list: DiskAction[]) => {
		if (!disk || list.length === 0) return;
		setAsking(null);
		setRunning({done: 0, total: list.length, current: list[0]!.name});
		try {
			const outcome = await disk.run(list, record, (result, index) => {
				setResults(previous => new Map(previous).set(result.id, result));
				setRunning({done: index + 1, total: list.length, current: list[index + 1]?.name ?? ''});
			});
			setLast(outcome);
		} catch (error) {
			setNote(`could not run: ${errorText(error)}`);
		} finally {
			setRunning(null);
			// What is left, and whether the filesystems are back under the threshold.
			loaded.reload();
		}
	};

	useInput(
		(input, key) => {
			if (note) setNote(null);
			const answered = typed.handle(input, key, (action, confirmed, text) => {
				if (confirmed) void run([action]);
				else setNote(`"${text}" is not ${action.typed}: nothing was run`);
			});
			if (answered) return;
			const question = askingRef.current;
			if (question) {
				if (input === 'y') return void run(question.kind === 'all' ? question.actions : [question.action]);
				if (input === 'n' || key.escape) setAsking(null);
				return;
			}
			if (runningRef.current) return;
			if (key.escape) return showKept ? setShowKept(false) : onClose();
			if (input === 'q') return onQuit();
			if (input === 'k') return setShowKept(s => !s);
			if (input === 'r') return loaded.reload();
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
			if (key.return && selected) return selected.typed ? typed.ask(selected, selected.typed) : setAsking({kind: 'one', action: selected});
			if (input === 'a' && safe.length > 0) setAsking({kind: 'all', actions: safe});
		},
		{isActive: active},
	);

	let footer = null;
	if (typed.asking) {
		const {subject, expected} = typed.asking;
		footer = (
			<Text wrap="truncate-end">
				<Toned tone="warn" bold>
					{actionVerbs[subject.kind]} {clip(subject.name, 24)}: type {expected} to confirm{' '}
				</Toned>
				{'> '}
				{typed.asking.typed}
				<Text inverse> </Text>
			</Text>
		);
	} else if (asking) {
		const text =
			asking.kind === 'all'
				? `run the ${asking.actions.length} safe actions, one at a time (about ${formatBytes(asking.actions.reduce((s, a) => s + a.bytes, 0))})? y/n`
				: `${actionVerbs[asking.action.kind]} ${asking.action.name}? y/n — ${asking.action.does}`;
		footer = <FooterLine tone="warn" bold text={text} />;
	} else if (running) {
		footer = <FooterLine tone="warn" text={`running ${Math.min(running.done + 1, running.total)}/${running.total}${running.current ? `: ${running.current}` : ''}…`} />;
	} else if (selected && !showKept && !note && !last) {
		footer = <FooterLine tone="muted" text={selected.does} />;
	}
	// The last run is told once the refreshed report is in, so its numbers and the bars agree.
	const message = note ? {text: note, tone: 'bad' as const} : last && !running && !loaded.loading ? {text: lastRunText(last), tone: last.failed > 0 ? ('bad' as const) : ('good' as const)} : null;

	let lines: Line[];
	if (!disk) lines = [{key: 'none', tone: 'warn', text: 'No engine to free space on in this console.'}];
	else if (!report) {
		lines = [
			loaded.error
				? {key: 'error', tone: 'bad', text: `could not read the disk: ${loaded.error} · r: try again`}
				: {key: 'loading', tone: 'muted', text: 'reading usage, images, containers, volumes and logs…'},
		];
	} else {
		const head = headLines(report, {showKept, refreshing: loaded.loading});
		// What is left for the list: the frame's border, title and key line, the head, the footer and the message.
		const listRows = Math.max(1, rows - 4 - head.length - (footer ? 1 : 0) - (message ? 1 : 0));
		const body = showKept ? keptLines(report, keptScroll, listRows) : actionLines(actions, at, listRows, results, Math.max(20, columns - 4));
		lines = [...head, ...body];
	}

	const keys =
		typed.asking
			? 'type the characters  enter: confirm  esc: cancel  (q is a letter here)'
			: asking
				? 'y: run  n/esc: cancel'
				: showKept
					? '↑↓ scroll  k: plan  r: refresh  esc: back  q: quit'
					: `↑↓ move  ${model.readOnly ? '' : 'enter: run this  a: all safe  '}k: kept  r: refresh  esc: back  q: quit`;

	return (
		<StepFrame
			step="disk"
			subtitle="never the rollback images or database volumes"
			lines={lines}
			footer={footer}
			message={message}
			keys={keys}
			rows={rows}
			columns={columns}
		/>
	);
}
