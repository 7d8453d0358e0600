import {Box, Text} from 'ink';
import {CHECKLIST} from '../../incident/checklist.js';
import type {StepState, StepStatus} from '../../incident/incident-store.js';
import type {StepId} from '../../incident/timeline.js';
import type {Tone} from '../../presentation/format.js';
import {Toned} from '../theme.js';

const symbols: Record<StepStatus, [string, Tone]> = {
	'not-started': ['○', 'muted'],
	'in-progress': ['◐', 'warn'],
	done: ['●', 'good'],
	skipped: ['⊘', 'muted'],
	failed: ['✗', 'bad'],
};

export function Checklist({cursor, statuses, width}: {cursor: number; statuses: Record<StepId, StepState>; width: number}) {
	return (
		<Box flexDirection="column" borderStyle="round" width={width} flexShrink={0} paddingX={1}>
			<Text bold>Checklist</Text>
			{CHECKLIST.map((step, index) => {
				const [symbol, tone] = symbols[statuses[step.id].status];
				const selected = index === cursor;
				return (
					<Box key={step.id}>
						<Text inverse={selected} wrap="truncate-end">
							{selected ? '›' : ' '}
							{step.number} {step.title}
						</Text>
						<Box flexGrow={1} />
						<Toned tone={tone}>{symbol}</Toned>
					</Box>
				);
			})}
		</Box>
	);
}
