import {useInput} from 'ink';
import {useEffect, useRef, useState} from 'react';
import {lastCapture} from '../../../incident/evidence/record.js';
import type {CaptureResult} from '../../../incident/evidence/types.js';
import {errorText, plural} from '../../../presentation/text.js';
import type {Line} from '../../kit/line.js';
import {StepFrame} from '../../kit/step-frame.js';
import {useAbortableLoad} from '../../kit/use-abortable-load.js';
import {useLatest} from '../../kit/use-latest.js';
import {useScroll} from '../../kit/use-scroll.js';
import type {StepProps} from '../step-props.js';
import {advance, planLines, resultLines, runLines, when, type RunState} from './evidence-lines.js';

export type EvidenceStepProps = Pick<StepProps, 'model' | 'record' | 'events' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

/** Where the capture stands; before the first one, the plan is shown. */
type Capture = 'none' | 'running' | 'done' | 'failed';

/**
 * Step 2: before changing anything, copy what the postmortem needs. Shows what will be
 * collected and about how big it is; enter runs the capture with a progress bar; then
 * what was captured, what failed and where the bundle is. The capture (the domain) records
 * its events and the step's status, as `capture` does.
 */
export function EvidenceStep({model, record, events, rows, columns, active, onClose, onQuit}: EvidenceStepProps) {
	const plan = useAbortableLoad(signal => model.planEvidence(signal), [model]);
	const [capture, setCapture, captureRef] = useLatest<Capture>('none');
	const [run, setRun] = useState<RunState | null>(null);
	const [result, setResult] = useState<{capture: CaptureResult; ms: number} | null>(null);
	const [failure, setFailure] = useState<string | null>(null);
	const [notices, setNotices] = useState<string[]>([]);
	const controller = useRef<AbortController | null>(null);
	const scroll = useScroll();
	// Before the first plan (or its error) arrives there is nothing to act on.
	const planning = capture === 'none' && plan.value === null && plan.error === null;

	// Leaving the step (or the console) stops a capture: it stays marked incomplete.
	useEffect(() => () => controller.current?.abort(new Error('the console closed')), []);

	const start = () => {
		const current = new AbortController();
		controller.current = current;
		const started = Date.now();
		setCapture('running');
		setRun({started, total: plan.value?.items.length ?? 0, finished: 0, bytes: 0, running: [], failed: []});
		setResult(null);
		setFailure(null);
		setNotices([]);
		scroll.reset();
		model
			.captureEvidence({record, onNotice: text => setNotices(list => [...list, text])}, progress => setRun(state => advance(state, progress)), current.signal)
			.then(
				done => {
					setResult({capture: done, ms: Date.now() - started});
					setCapture('done');
				},
				(error: unknown) => {
					setFailure(current.signal.aborted ? `cancelled: ${errorText(error)}` : errorText(error));
					setCapture('failed');
				},
			)
			.finally(() => {
				if (controller.current === current) controller.current = null;
			});
	};

	useInput(
		(input, key) => {
			if (scroll.handle(input, key)) return;
			if (captureRef.current === 'running') {
				if (key.escape) controller.current?.abort(new Error('cancelled by the operator'));
				if (input === 'q') {
					controller.current?.abort(new Error('the console closed'));
					onQuit();
				}
				return;
			}
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			if (planning) return;
			if (key.return) return start();
			if (input === 'p') {
				setCapture('none');
				scroll.reset();
				plan.reload();
			}
		},
		{isActive: active},
	);

	const lines: Line[] = [];
	const previous = lastCapture(events);
	if (previous && capture !== 'done') {
		lines.push({
			key: 'previous',
			tone: 'muted',
			text: `Last capture ${when(previous.time)} by ${previous.user}: ${plural(previous.items, 'item')}${previous.failed ? `, ${previous.failed} failed` : ''}${previous.redact ? '' : ', NOT redacted'} · ${previous.bundle}`,
		});
	}
	if (planning) lines.push({key: 'planning', tone: 'muted', text: 'Looking at what there is to collect…'});
	else if (capture !== 'running') {
		if (plan.error) lines.push({key: 'plan-error', tone: 'bad', text: `Could not look at what to collect (p: look again): ${plan.error}`});
		else if (plan.value && capture === 'none') lines.push(...planLines(plan.value));
	}
	if (capture === 'none' && !planning) {
		lines.push(
			{key: 'into', tone: 'muted', text: `Into ${model.incident.dir}/evidence/<capture>/ and a .tar.gz (0600) with its .sha256 in bundles/`},
			{key: 'redaction', tone: 'muted', text: 'Secrets are redacted: env values, URL credentials, tokens, cookies, AWS key ids, private keys.'},
			{key: 'no-redact', tone: 'muted', text: 'An unredacted bundle only from the command line: rollback-console capture --no-redact'},
		);
	}
	if (capture === 'running' && run) lines.push(...runLines(run, columns, Date.now()));
	if (capture === 'done' && result) lines.push(...resultLines(result.capture, result.ms));
	if (capture === 'failed' && failure) lines.push({key: 'failure', tone: 'bad', bold: true, text: `✗ ${failure}`});
	for (const [i, notice] of notices.entries()) lines.push({key: `notice-${i}`, tone: 'warn', text: notice});
	if (model.readOnly && capture !== 'running') {
		lines.push({key: 'read-only', tone: 'warn', text: `read-only${model.readOnlyReason ? ` (${model.readOnlyReason})` : ''}: capturing is allowed: it changes nothing on the box, it only writes the bundle and notes it in the timeline`});
	}

	const keys =
		capture === 'running'
			? 'esc: cancel the capture  q: cancel and quit'
			: planning
				? 'esc: back  q: quit'
				: `enter: ${capture === 'none' ? 'capture' : 'capture again'}  p: look again  esc: back  q: quit`;

	return (
		<StepFrame
			step="evidence"
			subtitle="before changing anything, copy what the postmortem needs"
			lines={lines}
			keys={keys}
			rows={rows}
			columns={columns}
			scroll={scroll}
		/>
	);
}
