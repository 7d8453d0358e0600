import type {StepId} from '../../incident/timeline.js';
import {stepInfo} from '../../incident/checklist.js';
import {StepFrame} from '../kit/step-frame.js';
import {waitsFor} from './index.js';

/** A step whose machinery has not landed: says so, and what to do meanwhile. */
export function PendingStep({step, rows, columns}: {step: StepId; rows: number; columns: number}) {
	return (
		<StepFrame
			step={step}
			rows={rows}
			columns={columns}
			lines={[
				{key: 'summary', text: stepInfo(step).summary, wrap: true},
				{key: 'gap', text: ''},
				{key: 'waits', tone: 'warn', text: `Not available in this version: ${waitsFor(step)}.`, wrap: true},
				{key: 'nothing', text: 'Nothing here runs anything. Esc goes back to the checklist.'},
			]}
			keys="esc: back to the checklist   q: quit"
		/>
	);
}
