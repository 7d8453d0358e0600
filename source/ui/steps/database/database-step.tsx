import {Text, useInput} from 'ink';
import {useEffect, useState} from 'react';
import {boundaryEvent} from '../../../incident/database/boundary.js';
import type {DatabaseAction} from '../../../incident/database/plan.js';
import type {DatabasePhase} from '../../../incident/database/run.js';
import {recordStatus} from '../../../incident/step-kit.js';
import {formatBytes} from '../../../presentation/format.js';
import {errorText, printable} from '../../../presentation/text.js';
import type {Line} from '../../kit/line.js';
import {StepFrame} from '../../kit/step-frame.js';
import {useAbortableLoad} from '../../kit/use-abortable-load.js';
import {useLatest} from '../../kit/use-latest.js';
import {useScroll} from '../../kit/use-scroll.js';
import {useTypedConfirmation} from '../../kit/use-typed-confirmation.js';
import {Toned} from '../../theme.js';
import type {StepProps} from '../step-props.js';
import {backupLines, headLines, migrationLines, planLines} from './database-lines.js';

export type DatabaseStepProps = Pick<StepProps, 'model' | 'record' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

type Message = {text: string; tone: 'good' | 'bad' | 'warn' | 'muted'} | null;

/**
 * Step 4: the migrations against the rollback target with the boundary drawn, the flagged
 * SQL, the backups with their checksums, and the plan in the runbooks' order. Each action is
 * confirmed — `y` for a harmless one, the named thing typed for restore and down — and runs
 * through the same domain calls as `db`, recorded in the timeline.
 */
export function DatabaseStep({model, record, rows, columns, active, onClose, onQuit}: DatabaseStepProps) {
	const database = model.database;
	const loaded = useAbortableLoad(database ? signal => database.gather(signal) : null, [database]);
	const [cursor, setCursor] = useState(0);
	const scroll = useScroll();
	const typed = useTypedConfirmation<DatabaseAction>(128);
	const [asking, setAsking, askingRef] = useLatest<DatabaseAction | null>(null);
	const [owner, setOwner, ownerRef] = useLatest<{action: DatabaseAction; text: string} | null>(null);
	const [progress, setProgress, progressRef] = useLatest<{phase: DatabasePhase; bytes: number; total: number | null} | null>(null);
	const [message, setMessage] = useState<Message>(null);

	const value = loaded.value;
	// What the boundary is goes into the timeline, where the Stabilise plan reads it.
	useEffect(() => {
		const boundary = value?.facts.boundary;
		const target = value?.facts.target;
		if (!boundary || !target || model.readOnly) return;
		void record('database', 'database_boundary', boundaryEvent(boundary, target.tag)).catch(() => {});
	}, [value]);
	const actions = value?.plan.actions ?? [];
	const at = Math.min(cursor, Math.max(0, actions.length - 1));
	const selected = actions[at] ?? null;

	const run = async (action: DatabaseAction, options: {owner?: string} = {}) => {
		if (!database) return;
		setAsking(null);
		setProgress({phase: action.kind === 'restore' ? 'checksum' : 'backup', bytes: 0, total: null});
		try {
			await recordStatus(record, 'database', 'in-progress');
			const outcome = await database.run(action, record, {
				...options,
				onProgress: (phase, bytes, total) => setProgress({phase, bytes, total}),
			});
			if (outcome.ok) {
				if (action.kind !== 'backup') await recordStatus(record, 'database', 'done', action.kind === 'roll-forward' ? `roll forward, owner ${options.owner}` : action.kind);
				setMessage({text: doneText(action, outcome.data ?? {}), tone: 'good'});
			} else setMessage({text: `${action.title}: FAILED — ${outcome.error}`, tone: 'bad'});
		} catch (error) {
			setMessage({text: `could not run: ${errorText(error)}`, tone: 'bad'});
		} finally {
			setProgress(null);
			loaded.reload();
		}
	};

	useInput(
		(input, key) => {
			if (progressRef.current) return;
			if (message) setMessage(null);
			const answered = typed.handle(input, key, (action, confirmed, text) => {
				if (confirmed) void run(action);
				else setMessage({text: `"${text}" is not ${action.confirmation.kind === 'typed' ? action.confirmation.text : ''}: nothing was run`, tone: 'warn'});
			});
			if (answered) return;
			const naming = ownerRef.current;
			if (naming) {
				if (key.escape) setOwner(null);
				else if (key.return) {
					setOwner(null);
					if (naming.text.trim()) void run(naming.action, {owner: naming.text.trim()});
					else setMessage({text: 'no owner named: nothing recorded', tone: 'warn'});
				} else if (key.backspace || key.delete) setOwner({...naming, text: naming.text.slice(0, -1)});
				else if (!key.ctrl && !key.meta) setOwner({...naming, text: (naming.text + printable(input)).slice(0, 80)});
				return;
			}
			const question = askingRef.current;
			if (question) {
				if (input === 'y') void run(question);
				else if (input === 'n' || key.escape) setAsking(null);
				return;
			}
			if (scroll.handle(input, key)) return;
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			if (input === 'r') return loaded.reload();
			if (key.upArrow || input === 'k') return setCursor(Math.max(0, at - 1));
			if (key.downArrow || input === 'j') return setCursor(Math.min(actions.length - 1, at + 1));
			if (key.return && selected) {
				if (model.readOnly) return setMessage({text: 'read-only: the Database step changes nothing', tone: 'warn'});
				if (selected.kind === 'roll-forward') return setOwner({action: selected, text: ''});
				if (selected.confirmation.kind === 'typed') return typed.ask(selected, selected.confirmation.text);
				setAsking(selected);
			}
		},
		{isActive: active},
	);

	const lines: Line[] = [];
	if (!database) lines.push({key: 'none', text: 'No engine wired to the Database step here: use `rollback-console db`.', tone: 'muted'});
	else if (loaded.error) lines.push({key: 'err', text: loaded.error, tone: 'bad', wrap: true}, {key: 'err-r', text: 'r reads again', tone: 'muted'});
	else if (!value) lines.push({key: 'loading', text: 'reading the database and the release images…', tone: 'muted'});
	else {
		lines.push(...headLines(value.facts), {key: 'gap1', text: ''}, ...migrationLines(value.facts), {key: 'gap2', text: ''}, ...backupLines(value.facts), {key: 'gap3', text: ''}, ...planLines(value.plan, at));
	}

	let footer = null;
	if (progress) {
		footer = (
			<Text wrap="truncate-end">
				<Toned tone="warn">
					{progress.phase}: {formatBytes(progress.bytes)}
					{progress.total ? ` of ${formatBytes(progress.total)}` : ''}…
				</Toned>
			</Text>
		);
	} else if (typed.asking) {
		footer = (
			<Text wrap="truncate-end">
				Type <Text bold>{typed.asking.expected}</Text> to confirm (esc cancels): {typed.asking.typed}
			</Text>
		);
	} else if (owner) {
		footer = <Text wrap="truncate-end">Who owns the hotfix? (enter records it, esc cancels): {owner.text}</Text>;
	} else if (asking) {
		footer = <Text wrap="truncate-end">{asking.title}: run it? y / n</Text>;
	}

	const subtitle = value?.facts.boundary ? `${value.facts.boundary.verdict.replace('-', ' ')} since ${value.facts.target?.tag ?? 'the target'}` : loaded.loading ? 'reading…' : undefined;
	return (
		<StepFrame
			step="database"
			{...(subtitle ? {subtitle} : {})}
			lines={lines}
			footer={footer}
			keys="↑↓ choose · enter run (restore and down: typed) · r read again · PgUp/PgDn scroll · esc back · q quit"
			message={message}
			rows={rows}
			columns={columns}
			scroll={scroll}
		/>
	);
}

function doneText(action: DatabaseAction, data: Record<string, unknown>): string {
	switch (action.kind) {
		case 'leave':
			return 'Recorded: leave the schema; next, Stabilise rolls the code back.';
		case 'roll-forward':
			return `Recorded: roll forward to a hotfix, owner ${String(data['owner'])}.`;
		case 'backup': {
			const b = data['backup'] as {path: string; bytes: number; sha256: string};
			return `Backed up: ${b.path} (${formatBytes(b.bytes)}, sha256 ${b.sha256.slice(0, 12)}…)`;
		}
		case 'restore':
			return `Restored; head ${String(data['head'])}, row counts match. App services stopped: next, Stabilise, then Verify.`;
		case 'down':
			return `One step down: ${String(data['from'])} → ${String(data['to'] ?? 'none')}. Another step needs a new confirmation.`;
	}
}
