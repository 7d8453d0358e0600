import {Text, useInput} from 'ink';
import {useCallback, useEffect, useRef, useState} from 'react';
import type {RollbackPlan} from '../../../incident/stabilise/plan.js';
import {errorText} from '../../../presentation/text.js';
import type {Line} from '../../kit/line.js';
import {StepFrame} from '../../kit/step-frame.js';
import {useAbortableLoad} from '../../kit/use-abortable-load.js';
import {useLatest} from '../../kit/use-latest.js';
import {useScroll} from '../../kit/use-scroll.js';
import {useTypedConfirmation} from '../../kit/use-typed-confirmation.js';
import type {RunView} from '../../stabilise-model.js';
import {Toned} from '../../theme.js';
import type {StepProps} from '../step-props.js';
import {candidateLines, planLines, runLines} from './stabilise-lines.js';

export type StabiliseStepProps = Pick<StepProps, 'model' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

/** Where the run stands: none yet (the plan shows), the worker starting, running, or ended. */
type RunPhase = 'none' | 'starting' | 'running' | 'done';

/**
 * Step 3: roll the release services back to the last known good release (or another
 * candidate): the plan with its diff, commands and warnings; typing the target tag runs it in
 * the detached worker, whose output is followed here. Closing the console does not stop it.
 * The worker (the domain) records the step's status, as `rollback` does.
 */
/** A release this box rolled back from is only gone back to by naming that: its tag and "again". */
const wentBadBefore = (plan: RollbackPlan) => plan.warnings.some(w => w.id === 'rolled-back');
const expectedFor = (plan: RollbackPlan) => (wentBadBefore(plan) ? `${plan.to.tag} again` : plan.to.tag);

export function StabiliseStep({model, rows, columns, active, onClose, onQuit}: StabiliseStepProps) {
	const api = model.stabilise;
	// Planning waits until we know no worker runs: a reopened console follows it instead.
	const [planning, setPlanning] = useState(false);
	const [target, setTarget, targetRef] = useLatest<string | null>(null);
	const prepared = useAbortableLoad(api && planning ? () => api.prepare(target) : null, [api, planning, target]);
	const [phase, setPhase, phaseRef] = useLatest<RunPhase>('none');
	// Null until the operator moves it: then it stays on the first plan's target.
	const [moved, setCursor] = useState<number | null>(null);
	const confirm = useTypedConfirmation<RollbackPlan>(140);
	const [run, setRun] = useState<RunView | null>(null);
	const [message, setMessage] = useState<string | null>(null);
	const [readOnly, setReadOnly] = useState(model.readOnly);
	const following = useRef<AbortController | null>(null);
	const scroll = useScroll();

	/** Plans a rollback to `to` (null: the last known good). */
	const prepare = (to: string | null) => {
		setPlanning(true);
		scroll.reset();
		// The last known good again: the cursor goes back to the plan's target.
		if (to === null) setCursor(null);
		if (to === targetRef.current) prepared.reload();
		else setTarget(to);
	};

	// The follower outlives the render it was made in: it plans again through the latest prepare.
	const latestPrepare = useRef(prepare);
	latestPrepare.current = prepare;
	const value = prepared.value;

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
					latestPrepare.current(null);
				})
				.catch((error: unknown) => setMessage(`lost the worker: ${errorText(error)}`));
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
				setPlanning(true);
			}
		});
		return () => following.current?.abort();
	}, [api]);

	const plan = value?.plan ?? null;
	const candidates = value?.candidates ?? [];
	const cursor = moved ?? Math.max(0, candidates.findIndex(c => c.tag === plan?.to.tag));
	const loading = phase === 'none' && !value && !prepared.error;

	const start = async (p: RollbackPlan) => {
		if (!api) return;
		setPhase('starting');
		try {
			const started = await api.start(p);
			setRun(started);
			setPhase('running');
			follow(started.runId);
		} catch (error) {
			setMessage(errorText(error));
			setPhase('none');
		}
	};

	useInput(
		(input, key) => {
			if (message) setMessage(null);
			const answered = confirm.handle(input, key, (subject, confirmed, typed) => {
				if (confirmed) return void start(subject);
				setMessage(`typed "${typed}", not ${expectedFor(subject)}: nothing runs`);
				// Still asking: the operator types it again.
				confirm.ask(subject, expectedFor(subject));
			});
			if (answered || scroll.handle(input, key)) return;
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			const now = phaseRef.current;
			if (now === 'running' || now === 'starting' || loading) return;
			if (input === 'r') {
				setPhase('none');
				return prepare(candidates[cursor]?.tag ?? null);
			}
			if (input === 't' && api && value && value.lock.state !== 'mine') {
				void api.takeLock(value.lock.state === 'stale').then(result => {
					setMessage(result.message);
					setReadOnly(model.readOnly);
					prepare(candidates[cursor]?.tag ?? null);
				});
				return;
			}
			if ((key.upArrow || key.downArrow) && candidates.length > 0) {
				const next = Math.min(candidates.length - 1, Math.max(0, cursor + (key.upArrow ? -1 : 1)));
				setCursor(next);
				setPhase('none');
				return prepare(candidates[next]!.tag);
			}
			if (key.return && plan && now === 'none') {
				if (readOnly) return setMessage(`read-only (${model.readOnlyReason ?? 'another operator holds the project'}): nothing can run from this console`);
				confirm.ask(plan, expectedFor(plan));
			}
		},
		{isActive: active},
	);

	const footer = confirm.asking ? (
		<Text wrap="truncate-end">
			<Toned tone="warn" bold>
				{wentBadBefore(confirm.asking.subject) ? `${confirm.asking.subject.to.tag} was ROLLED BACK FROM before: ` : ''}Type {confirm.asking.expected} and Enter to
				{confirm.asking.subject.kind === 'deploy' ? ' deploy' : ' roll back'} (confirming acknowledges the warnings; Esc cancels):{' '}
			</Toned>
			{confirm.asking.typed}█
		</Text>
	) : null;
	// The body's rows: the frame's border, title and key line, and the footer and message when shown.
	const room = Math.max(1, rows - 4 - (footer ? 1 : 0) - (message ? 1 : 0));

	const lines: Line[] = [];
	if (!api) lines.push({key: 'none', tone: 'warn', text: 'The rollback machinery is not available in this console.'});
	else {
		lines.push({
			key: 'head',
			bold: true,
			text: `current ${value?.current ?? run?.from ?? '…'} · last known good ${value ? (value.lastKnownGood ?? (candidates.some(c => !c.current) ? 'none (pick a release below)' : 'none')) : '…'}${value?.registryProblem ? ` · registry: ${value.registryProblem}` : ''}`,
		});
		if (value && !loading && candidates.every(c => c.current)) {
			lines.push({key: 'no-candidates', tone: 'warn', wrap: true, text: 'No other release found: none recorded on this box (releases.jsonl), none in the registry, no other local image of the release repositories.'});
		}
		// How the Compose file names the release, and why each service is part of it.
		for (const [i, text] of (value?.release?.lines ?? []).entries()) lines.push({key: `release-${i}`, tone: 'muted', text});
		if (readOnly) lines.push({key: 'ro', tone: 'warn', text: `read-only: ${model.readOnlyReason ?? 'another operator holds the project'}`});
		if (loading) lines.push({key: 'loading', tone: 'muted', text: 'gathering: containers, releases.jsonl, registry tags, local images…'});
		if (phase !== 'none') {
			if (run) lines.push(...runLines(run, phase === 'done', room - lines.length));
			else lines.push({key: 'starting', tone: 'muted', text: 'starting the worker…'});
		} else if (value) {
			lines.push(...candidateLines(candidates, cursor, Math.max(2, Math.floor(room / 4)), plan?.to.tag ?? null));
			if (value.error) lines.push({key: 'error', tone: 'bad', wrap: true, text: `✗ ${value.error}`});
			if (plan) lines.push(...planLines(plan));
		}
		if (prepared.error) lines.push({key: 'prepare-error', tone: 'bad', wrap: true, text: `✗ could not plan: ${prepared.error}`});
		if (run?.result && phase === 'none') lines.push({key: 'last', tone: 'muted', text: `last run ${run.runId}: ${run.result.success ? 'succeeded' : `failed: ${run.result.message}`}`});
	}
	const keys = confirm.asking
		? 'type the tag · enter: run · esc: cancel'
		: phase === 'running' || phase === 'starting'
			? 'esc: back (the worker carries on) · q: quit'
			: `↑↓: candidate · enter: confirm · r: refresh${value && value.lock.state !== 'mine' && readOnly ? ' · t: take the lock' : ''} · esc: back · q: quit`;

	return (
		<StepFrame
			step="stabilise"
			lines={lines}
			footer={footer}
			message={message ? {text: message, tone: 'warn'} : null}
			keys={keys}
			rows={rows}
			columns={columns}
			scroll={scroll}
		/>
	);
}
