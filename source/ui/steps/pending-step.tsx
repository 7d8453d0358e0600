import {Box, Text} from 'ink';
import type {StepInfo} from '../../incident/checklist.js';
import {Toned} from '../theme.js';

/** A step whose machinery has not landed: says so, and what to do meanwhile. */
export function PendingStep({step}: {step: StepInfo}) {
	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} flexGrow={1}>
			<Text bold>
				Step {step.number} · {step.title}
			</Text>
			<Text>{step.summary}</Text>
			<Text> </Text>
			<Toned tone="warn">Not available in this version: {step.pending}.</Toned>
			<Text>Nothing here runs anything. Esc goes back to the checklist.</Text>
		</Box>
	);
}
