import type {ServicesSnapshot} from '../../incident/services-feed.js';
import type {StepId, TimelineEvent} from '../../incident/timeline.js';
import type {ConsoleModel} from '../console-model.js';

/** What the console hands every open step; a step takes the keyboard while it is open. */
export interface StepProps {
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
