import {useCallback, useEffect, useState} from 'react';
import {stepStatuses, type StepState} from '../../incident/incident-store.js';
import type {StepId, TimelineEvent} from '../../incident/timeline.js';
import type {ConsoleModel} from '../console-model.js';

/** How often the timeline file is read for other writers' events: marks follow within a second. */
const refreshMs = 500;

/**
 * The timeline's events and the step statuses derived from them, redrawn after each append
 * and whenever another writer (the detached rollback worker, a headless command in another
 * SSH session) has appended.
 */
export function useTimeline(model: ConsoleModel, options: {refreshMs?: number} = {}) {
	const [events, setEvents] = useState<TimelineEvent[]>(() => model.timeline.events());
	useEffect(() => {
		const {timeline} = model;
		if (!timeline.refresh) return;
		let busy = false;
		const timer = setInterval(() => {
			if (busy) return;
			busy = true;
			timeline
				.refresh!()
				.then(
					next => setEvents(previous => (next.length === previous.length ? previous : next)),
					() => {},
				)
				.finally(() => (busy = false));
		}, options.refreshMs ?? refreshMs);
		timer.unref?.();
		return () => clearInterval(timer);
	}, [model, options.refreshMs]);
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
