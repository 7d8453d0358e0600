import path from 'node:path';
import {diskUsage} from '../../engine/host-facts.js';
import {fallbackCandidates, tmpfsFallbackDir} from '../state-dir.js';
import {formatMiB} from './write-content.js';

/** Where a capture or export writes: the incident's own directory, or its tmpfs mirror. */
export interface Place {
	/** The incident directory written to. */
	incidentDir: string;
	/** The incident directory in the state dir, where it was meant to go. */
	intendedDir: string;
	fellBack: boolean;
	reason: string | null;
}

/** Bytes to have free before writing `estimate` bytes of files and their archive. */
export const neededBytes = (estimate: number) => Math.ceil(estimate * 1.5) + 1024 * 1024;

const inside = (dir: string, root: string) => dir === root || dir.startsWith(`${root}${path.sep}`);

/** The directory is under one of the tmpfs fallback locations. */
export const isFallbackDir = (dir: string, env: NodeJS.ProcessEnv = process.env) =>
	fallbackCandidates(env).some(root => inside(path.resolve(dir), path.resolve(root)));

/** Where the incident's tmpfs mirror would be, for each fallback location (nothing is created). */
export function mirrorCandidates(incidentDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
	const dir = path.resolve(incidentDir);
	if (isFallbackDir(dir, env)) return [];
	return fallbackCandidates(env)
		.map(root => path.join(path.resolve(root), ...dir.split(path.sep).slice(-3)))
		.filter(mirror => mirror !== dir);
}

/** The incident's directory under the first writable tmpfs fallback; null when there is none, or it already is one. */
export async function fallbackIncidentDir(incidentDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
	const dir = path.resolve(incidentDir);
	if (isFallbackDir(dir, env)) return null;
	const root = await tmpfsFallbackDir(env);
	if (!root) return null;
	// <state>/<project>/incidents/<id> → <fallback>/<project>/incidents/<id>
	const mirror = path.join(root, ...dir.split(path.sep).slice(-3));
	return path.resolve(mirror) === dir ? null : mirror;
}

/**
 * The incident dir when its disk has room for `estimate` bytes (with the archive and some
 * slack), else the tmpfs fallback, saying why. Without a fallback it stays put: the
 * estimate is pessimistic, and a real ENOSPC is still caught while writing.
 */
export async function choosePlace(incidentDir: string, estimate: number, env: NodeJS.ProcessEnv = process.env): Promise<Place> {
	if (isFallbackDir(incidentDir, env)) {
		return {incidentDir, intendedDir: incidentDir, fellBack: true, reason: 'the incident itself is in the tmpfs fallback (the state dir\'s disk was full when it was opened)'};
	}
	const needed = neededBytes(estimate);
	let available: number | null = null;
	try {
		available = (await diskUsage(incidentDir)).availableBytes;
	} catch {
		// Cannot tell: try, and fall back on ENOSPC.
	}
	if (available === null || available >= needed) return {incidentDir, intendedDir: incidentDir, fellBack: false, reason: null};
	const mirror = await fallbackIncidentDir(incidentDir, env);
	if (!mirror) return {incidentDir, intendedDir: incidentDir, fellBack: false, reason: null};
	return {
		incidentDir: mirror,
		intendedDir: incidentDir,
		fellBack: true,
		reason: `only ${formatMiB(available)} free on the disk holding ${incidentDir}, about ${formatMiB(needed)} needed`,
	};
}

/** After an ENOSPC while writing: the fallback, or null when there is none. */
export async function placeAfterDiskFull(current: Place, what: string, code: string, env: NodeJS.ProcessEnv = process.env): Promise<Place | null> {
	if (current.fellBack) return null;
	const mirror = await fallbackIncidentDir(current.incidentDir, env);
	if (!mirror) return null;
	return {incidentDir: mirror, intendedDir: current.intendedDir, fellBack: true, reason: `no space left on the disk holding ${current.incidentDir} (${code}) while writing ${what}`};
}
