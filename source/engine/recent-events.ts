import {toEvent} from './engine-records.js';
import type {ContainerEvent} from './types.js';

/**
 * The /events query for a project's recent container events: `until` makes the Engine send
 * what it has and end the response, so it is one short request.
 */
export function recentEventsQuery(project: string, sinceMs: number, now = Date.now()) {
	return {
		since: ((now - sinceMs) / 1000).toFixed(3),
		until: (now / 1000).toFixed(3),
		filters: {type: ['container'], label: [`com.docker.compose.project=${project}`], event: ['die', 'start', 'kill', 'stop', 'destroy']},
	};
}

/** The events in an /events response body (one JSON object a line). */
export function eventsFromText(text: string): ContainerEvent[] {
	return text
		.split('\n')
		.map(line => (line.trim() === '' ? null : toEvent(line)))
		.filter(raw => raw !== null)
		.map(raw => raw.event);
}
