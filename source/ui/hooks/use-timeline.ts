import {useCallback, useState} from 'react';
import {stepStatuses, type StepState} from '../../incident/incident-store.js';
import type {StepId, TimelineEvent} from '../../incident/timeline.js';
import type {ConsoleModel} from '../console-model.js';

/** The timeline's events and the step statuses derived from them, redrawn after each append. */
export function useTimeline(model: ConsoleModel) {
	const [events, setEvents] = useState<TimelineEvent[]>(() => model.timeline.events());
	const record = useCallback(
		async (step: StepId | null, type: string, data: Record<string, unknown>) => {
			const event = await model.timeline.append(step, type, data);
			setEvents([...model.timeline.events()]);
			return event;
		},
		[model],
	);
	const statuses: Record<StepId, StepState> = stepStatuses(events);
	return {events, statuses, record};
}
