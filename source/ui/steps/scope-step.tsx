import {Box, Text, useInput} from 'ink';
import type {ServicesSnapshot} from '../../incident/services-feed.js';
import type {StepId, TimelineEvent} from '../../incident/timeline.js';
import type {ConsoleModel} from '../console-model.js';

export interface ScopeStepProps {
	model: ConsoleModel;
	snapshot: ServicesSnapshot;
	record: (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<TimelineEvent>;
	events: TimelineEvent[];
	rows: number;
	columns: number;
	active: boolean;
	onClose: () => void;
	onQuit: () => void;
}

// Placeholder until the Scope step lands in this file.
export function ScopeStep({onClose, active}: ScopeStepProps) {
	useInput((_input, key) => key.escape && onClose(), {isActive: active});
	return (
		<Box borderStyle="round" flexGrow={1}>
			<Text>Scope</Text>
		</Box>
	);
}
