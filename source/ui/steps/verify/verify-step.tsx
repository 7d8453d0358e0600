import {useInput} from 'ink';
import {useState} from 'react';
import {errorText} from '../../../presentation/text.js';
import {FooterLine} from '../../components/footer-line.js';
import {useNow} from '../../hooks/use-now.js';
import type {Line} from '../../kit/line.js';
import {StepFrame} from '../../kit/step-frame.js';
import {useScroll} from '../../kit/use-scroll.js';
import type {StepProps} from '../step-props.js';
import {useVerifyRun} from './use-verify-run.js';
import {checkLines, errorLines, phaseLine, planLines} from './verify-lines.js';

export type VerifyStepProps = Pick<StepProps, 'model' | 'record' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

/**
 * Step 6: is the recovery real? `v` runs the checks (services not crash-looping, health URLs
 * with retries, smoke checks and flows, the error rate against the baseline over the window);
 * each is a row with its live result. The run lives in the model: `esc` leaves it running,
 * and coming back shows it. The domain records every check, and the release on a pass, as
 * `rollback-console verify` does.
 */
export function VerifyStep({model, record, rows, columns, active, onClose, onQuit}: VerifyStepProps) {
	const verify = model.verify;
	const {state, running} = useVerifyRun(verify);
	const now = useNow(1000);
	const scroll = useScroll();
	const [note, setNote] = useState<string | null>(null);

	useInput(
		(input, key) => {
			if (note) setNote(null);
			if (scroll.handle(input, key)) return;
			if (key.escape) return onClose();
			if (input === 'q' && !running) return onQuit();
			if (!verify) return;
			if (input === 'v' && !running) {
				scroll.reset();
				// Read-only: the checks still run and show; nothing is recorded.
				if (model.readOnly) setNote(`read-only${model.readOnlyReason ? ` (${model.readOnlyReason})` : ''}: the checks run, nothing is recorded`);
				void verify.start(record, {readOnly: model.readOnly}).catch(error => setNote(`verify could not run: ${errorText(error)}`));
				return;
			}
			if (input === 's' && running) {
				verify.stop();
				setNote('stopping: what was seen so far is recorded');
			}
		},
		{isActive: active},
	);

	let lines: Line[];
	if (!verify) lines = [{key: 'none', tone: 'warn', text: 'No engine to verify against in this console.'}];
	else if (!state) lines = planLines(verify.plan);
	else lines = [phaseLine(state, now, {readOnly: model.readOnly, running}), ...checkLines(state), ...errorLines(state)];

	const footer = running ? <FooterLine tone="muted" text="esc leaves it running in the background; come back to step 6 to see it" /> : null;
	const keys = running ? 's: stop  PgUp/PgDn  esc: back (keeps running)' : `v: ${state ? 'verify again' : 'verify'}  PgUp/PgDn  esc: back  q: quit`;
	const subtitle = state?.finished ? (state.verified ? 'verified' : 'not verified') : running ? 'checking' : 'services, health, smoke, error rate';
	return (
		<StepFrame
			step="verify"
			subtitle={subtitle}
			lines={lines}
			footer={footer}
			message={note ? {text: note, tone: 'warn'} : null}
			keys={keys}
			rows={rows}
			columns={columns}
			scroll={scroll}
		/>
	);
}
