import {chown, readFile, stat} from 'node:fs/promises';
import {createFileExclusive, errorCode, writeFileAtomic} from '../atomic-file.js';

/**
 * The project's `.env`, where compose reads the tag variable from: the durable half of a
 * rollback. Every other line (COMPOSE_PROJECT_NAME, ports, comments) is kept as it is.
 */

const assignment = (key: string) => new RegExp(`^(\\s*(?:export\\s+)?)${key}\\s*=.*$`);

/** `text` with every assignment of `key` set to `value`, or one appended when there is none. */
export function setEnvValue(text: string, key: string, value: string): string {
	const pattern = assignment(key);
	let found = false;
	const lines = text.split('\n').map(line =>
		line.replace(pattern, (_whole, prefix: string) => {
			found = true;
			return `${prefix}${key}=${value}`;
		}),
	);
	if (found) return lines.join('\n');
	const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
	return `${base}${key}=${value}\n`;
}

/** The file's text, or null when it does not exist. */
export async function readTextOrNull(file: string): Promise<string | null> {
	try {
		return await readFile(file, 'utf8');
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return null;
		throw error;
	}
}

const stamp = (time: number) => new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** `.env.bak-20261122T031209Z`: beside the file, sorting by time. */
export const backupName = (file: string, time: number) => `${file}.bak-${stamp(time)}`;

export interface PersistResult {
	file: string;
	/** The previous file, kept; null when there was none. */
	backup: string | null;
}

/**
 * Replaces `file` with `text` (temp + rename, keeping its mode and owner), first keeping the
 * old one as a timestamped backup. Never truncates the file in place.
 */
export async function replaceWithBackup(file: string, text: string, time: number): Promise<PersistResult> {
	let info: Awaited<ReturnType<typeof stat>> | null = null;
	try {
		info = await stat(file);
	} catch (error) {
		if (errorCode(error) !== 'ENOENT') throw error;
	}
	let backup: string | null = null;
	if (info) {
		const old = await readFile(file);
		for (let n = 0; ; n++) {
			const candidate = `${backupName(file, time)}${n ? `-${n}` : ''}`;
			if (await createFileExclusive(candidate, old, {mode: info.mode & 0o777})) {
				backup = candidate;
				break;
			}
			if (n > 20) throw new Error(`cannot create a backup of ${file}`);
		}
	}
	await writeFileAtomic(file, text, {mode: info ? info.mode & 0o777 : 0o644});
	// Root rolling back someone's project must not leave them a .env they cannot edit.
	if (info && process.getuid?.() === 0 && (info.uid !== 0 || info.gid !== 0)) {
		await chown(file, info.uid, info.gid).catch(() => {});
		if (backup) await chown(backup, info.uid, info.gid).catch(() => {});
	}
	return {file, backup};
}
