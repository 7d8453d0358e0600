// The project's incidents, open and past, as their timelines tell (history, report, close).
import {readdir} from 'node:fs/promises';
import path from 'node:path';
import {readJsonLines} from '../atomic-file.js';
import type {TimelineEvent} from '../timeline.js';

const idPattern = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export interface IncidentSummary {
	id: string;
	dir: string;
	openedAt: string | null;
	closedAt: string | null;
	from: string | null;
	to: string | null;
	/** "rolled back", "rollback failed", "closed without a rollback", "open". */
	outcome: string;
}

/** One incident's summary from its events. */
export function summarise(id: string, dir: string, events: readonly TimelineEvent[]): IncidentSummary {
	const opened = events.find(e => e.type === 'incident_opened')?.time ?? events[0]?.time ?? null;
	const closed = events.findLast(e => e.type === 'incident_closed') ?? null;
	const start = events.findLast(e => e.type === 'rollback_start');
	const done = start ? events.findLast(e => e.type === 'rollback_complete' && e.data['runId'] === start.data['runId']) : undefined;
	const rollback = start ? (done ? (done.data['success'] === true ? 'rolled back' : 'rollback failed') : 'rollback started, no result') : null;
	const outcome = closed ? (typeof closed.data['outcome'] === 'string' ? closed.data['outcome'] : (rollback ?? 'closed without a rollback')) : `open${rollback ? ` (${rollback})` : ''}`;
	const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
	return {id, dir, openedAt: opened, closedAt: closed?.time ?? null, from: str(start?.data['from']), to: str(start?.data['to']), outcome};
}

/** Every incident under `<state>/<project>/incidents`, oldest first. */
export async function listIncidents(projectDir: string): Promise<IncidentSummary[]> {
	const root = path.join(projectDir, 'incidents');
	const ids = (await readdir(root).catch(() => [] as string[])).filter(id => idPattern.test(id)).sort();
	return Promise.all(
		ids.map(async id => {
			const dir = path.join(root, id);
			const events = await readJsonLines<TimelineEvent>(path.join(dir, 'timeline.jsonl')).catch(() => [] as TimelineEvent[]);
			return summarise(id, dir, events);
		}),
	);
}
