import {readFile, readdir, stat} from 'node:fs/promises';
import path from 'node:path';
import {ConsoleError} from '../../errors.js';
import {incidentFiles} from '../incident-store.js';
import type {Operator} from '../operator.js';
import {fallbackCandidates, projectStateDir} from '../state-dir.js';
import {Timeline} from '../timeline.js';
import {fallbackIncidentDir, mirrorCandidates} from './location.js';

const idPattern = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export interface FoundIncident {
	id: string;
	/** Where it lives: the state dir, or its tmpfs mirror when it was opened on a full disk. */
	dir: string;
	timeline: Timeline;
}

const isDir = (dir: string) => stat(dir).then(s => s.isDirectory(), () => false);

async function currentId(projectDir: string): Promise<string | null> {
	try {
		const value = JSON.parse(await readFile(path.join(projectDir, 'current'), 'utf8')) as {incident?: unknown};
		return typeof value.incident === 'string' && idPattern.test(value.incident) ? value.incident : null;
	} catch {
		return null;
	}
}

/**
 * An existing incident, without opening a new one: the one named, or the project's current
 * one. Looks in the state dir and in the tmpfs fallbacks.
 */
export async function findIncident(options: {stateDir: string; project: string; id: string | null; operator: Operator; env?: NodeJS.ProcessEnv}): Promise<FoundIncident> {
	const env = options.env ?? process.env;
	const roots = [options.stateDir, ...fallbackCandidates(env)];
	const projectDirs = roots.map(root => projectStateDir(root, options.project));
	let id = options.id;
	if (id !== null && !idPattern.test(id)) throw new ConsoleError(`"${id}" is not an incident id (like 20261122-031209-ab12)`);
	if (id === null) {
		for (const dir of projectDirs) {
			id = await currentId(dir);
			if (id) break;
		}
	}
	if (id === null) {
		const listed = await readdir(path.join(projectDirs[0]!, 'incidents')).catch(() => [] as string[]);
		const hint = listed.length > 0 ? `; name one of the ${listed.length} in ${path.join(projectDirs[0]!, 'incidents')} (newest: ${listed.sort().at(-1)})` : '';
		throw new ConsoleError(`no open incident for ${options.project} in ${options.stateDir}: nothing to export${hint}`);
	}
	let dir: string | null = null;
	for (const projectDir of projectDirs) {
		const candidate = path.join(projectDir, 'incidents', id);
		if (await isDir(candidate)) {
			dir = candidate;
			break;
		}
	}
	if (!dir) throw new ConsoleError(`no incident ${id} for ${options.project} in ${options.stateDir}`);
	const found = dir;
	let earlier: string | null = null;
	for (const mirror of mirrorCandidates(found, env)) {
		if (await stat(incidentFiles(mirror).timeline).then(() => true, () => false)) {
			earlier = mirror;
			break;
		}
	}
	const timeline = await Timeline.open(incidentFiles(found).timeline, {
		operator: options.operator,
		// A timeline that fell back earlier is picked up from its tmpfs copy.
		fallbackDir: earlier ?? (async () => fallbackIncidentDir(found, env)),
	});
	return {id, dir, timeline};
}
