import {readdir, stat} from 'node:fs/promises';
import {ConsoleError} from '../../errors.js';
import {incidentDir, incidentFiles, isIncidentId, projectFiles, readCurrentPointer} from '../layout.js';
import type {Operator} from '../operator.js';
import {fallbackCandidates, projectStateDir} from '../state-dir.js';
import {Timeline} from '../timeline.js';
import {fallbackIncidentDir, mirrorCandidates} from './location.js';

export interface FoundIncident {
	id: string;
	/** Where it lives: the state dir, or its tmpfs mirror when it was opened on a full disk. */
	dir: string;
	timeline: Timeline;
}

const isDir = (dir: string) => stat(dir).then(s => s.isDirectory(), () => false);

/**
 * An existing incident, without opening a new one: the one named, or the project's current
 * one. Looks in the state dir and in the tmpfs fallbacks.
 */
export async function findIncident(options: {stateDir: string; project: string; id: string | null; operator: Operator; env?: NodeJS.ProcessEnv}): Promise<FoundIncident> {
	const env = options.env ?? process.env;
	const roots = [options.stateDir, ...fallbackCandidates(env)];
	const projectDirs = roots.map(root => projectStateDir(root, options.project));
	let id = options.id;
	if (id !== null && !isIncidentId(id)) throw new ConsoleError(`"${id}" is not an incident id (like 20261122-031209-ab12)`);
	if (id === null) {
		for (const dir of projectDirs) {
			id = (await readCurrentPointer(dir))?.incident ?? null;
			if (id) break;
		}
	}
	if (id === null) {
		const incidents = projectFiles(projectDirs[0]!).incidents;
		const listed = await readdir(incidents).catch(() => [] as string[]);
		const hint = listed.length > 0 ? `; name one of the ${listed.length} in ${incidents} (newest: ${listed.sort().at(-1)})` : '';
		throw new ConsoleError(`no open incident for ${options.project} in ${options.stateDir}: nothing to export${hint}`);
	}
	let dir: string | null = null;
	for (const projectDir of projectDirs) {
		const candidate = incidentDir(projectDir, id);
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
