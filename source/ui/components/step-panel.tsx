import {Box, Text} from 'ink';
import type {StepInfo} from '../../incident/checklist.js';
import type {StepState} from '../../incident/incident-store.js';
import {DECISION_TITLES, type ScopeRecord} from '../../incident/scope.js';
import {Toned} from '../theme.js';

const statusWords: Record<StepState['status'], string> = {
	'not-started': 'not started',
	'in-progress': 'in progress',
	done: 'done',
	skipped: 'skipped',
	failed: 'failed',
};

/** The selected step's summary under the panes; enter opens it. */
export function StepPanel({step, waitsFor, state, scope}: {step: StepInfo; waitsFor: string | null; state: StepState; scope: ScopeRecord | null}) {
	return (
		<Box flexDirection="column" paddingX={1}>
			<Text wrap="truncate-end">
				<Text bold>
					Step {step.number} · {step.title}
				</Text>
				{'  '}
				<Toned tone="muted">
					{statusWords[state.status]}
					{state.reason ? ` (${state.reason})` : ''}
				</Toned>
				{scope ? (
					<Toned tone="warn">
						{'  '}decided {DECISION_TITLES[scope.decision]} at {scope.time.slice(11, 16)} UTC by {scope.user}
					</Toned>
				) : null}
			</Text>
			<Text wrap="truncate-end">
				{waitsFor ? <Toned tone="warn">Not available yet: {waitsFor}. </Toned> : null}
				{step.summary}
			</Text>
		</Box>
	);
}
