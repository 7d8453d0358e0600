// The incident's layout on disk (DESIGN.md, "State on the box"), spelled out once:
//
//   <state>/<project>/
//     current                   {"incident": <id>, "openedAt": …}: the open incident
//     current.lock              held only around reading and replacing `current`
//     lock                      who holds the project (project-lock.ts)
//     releases.jsonl            every release seen/verified
//     deploys/                  timeline.jsonl and worker output of deploys outside an incident
//     incidents/<id>/           timeline.jsonl, evidence/, worker/, logs/, report.md, bundles/
//     backups/                  database dumps
import {readFile} from 'node:fs/promises';
import {randomBytes} from 'node:crypto';
import {join} from 'node:path';

/** `YYYYMMDD-HHMMSS-<4 hex>`: checked before an id from a file or a flag becomes a path. */
export const INCIDENT_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export const isIncidentId = (value: unknown): value is string => typeof value === 'string' && INCIDENT_ID_PATTERN.test(value);

const pad = (n: number) => String(n).padStart(2, '0');

/** A new incident id, in UTC, so listing the directory lists incidents in time order. */
export function newIncidentId(time: number): string {
	const d = new Date(time);
	const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
	const clock = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
	return `${date}-${clock}-${randomBytes(2).toString('hex')}`;
}

/** The files of `<state>/<project>`. */
export const projectFiles = (projectDir: string) => ({
	current: join(projectDir, 'current'),
	currentLock: join(projectDir, 'current.lock'),
	lock: join(projectDir, 'lock'),
	releases: join(projectDir, 'releases.jsonl'),
	deploys: join(projectDir, 'deploys'),
	deploysTimeline: join(projectDir, 'deploys', 'timeline.jsonl'),
	incidents: join(projectDir, 'incidents'),
	backups: join(projectDir, 'backups'),
});

/** `<state>/<project>/incidents/<id>`. */
export const incidentDir = (projectDir: string, id: string) => join(projectDir, 'incidents', id);

/** The files and directories of an incident. */
export const incidentFiles = (dir: string) => ({
	timeline: join(dir, 'timeline.jsonl'),
	evidence: join(dir, 'evidence'),
	worker: join(dir, 'worker'),
	logs: join(dir, 'logs'),
	report: join(dir, 'report.md'),
	bundles: join(dir, 'bundles'),
});

export interface CurrentPointer {
	incident: string;
	openedAt: string;
}

/** The `current` pointer's contents, validated (its id becomes a path); null when there is none or it is unreadable. */
export function parseCurrentPointer(text: string): CurrentPointer | null {
	try {
		const value = JSON.parse(text) as {incident?: unknown; openedAt?: unknown};
		if (!isIncidentId(value.incident)) return null;
		return {incident: value.incident, openedAt: typeof value.openedAt === 'string' ? value.openedAt : ''};
	} catch {
		return null;
	}
}

/** The project's open incident as `current` names it; null when there is none (ENOENT) or it cannot be read. */
export async function readCurrentPointer(projectDir: string): Promise<CurrentPointer | null> {
	try {
		return parseCurrentPointer(await readFile(projectFiles(projectDir).current, 'utf8'));
	} catch {
		return null;
	}
}

export const currentPointerText = (pointer: CurrentPointer) => `${JSON.stringify(pointer)}\n`;
