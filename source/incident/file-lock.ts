// The one file-lock primitive both locks use: `<project>/lock` (who changes the project,
// held for a whole rollback) and `<project>/current.lock` (held only around replacing the
// `current` pointer). A lock is a file created exclusively, holding its holder's details;
// a holder on this host whose process is gone, or whose pid now belongs to another process
// (compared by start time), is stale; a stale lock is removed only if it is still the very
// file that was judged (same inode).
import {readFileSync} from 'node:fs';
import {open, readFile, stat} from 'node:fs/promises';
import {hostname} from 'node:os';
import {createFileExclusive, errorCode, isDiskFull, removeIfSame} from './atomic-file.js';
import {processAlive} from './operator.js';

export {removeIfSame};

/** What every lock file says about who holds it. */
export interface FileLockHolder {
	pid: number;
	/** /proc/<pid>/stat starttime (clock ticks since boot): a reused pid is another process. */
	processStart: number | null;
	host: string;
	user: string;
	since: string;
}

/** The start time of a process (field 22 of /proc/<pid>/stat), or null when it is gone or unknown. */
export function processStartTime(pid: number): number | null {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name (field 2) may hold spaces and parentheses: count from the last ')'.
		const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
		const start = Number(fields[19]);
		return Number.isFinite(start) ? start : null;
	} catch {
		return null;
	}
}

/** Whether `holder` is the process `pid` (this one unless said otherwise) on this host. */
export const isHeldBy = (holder: Pick<FileLockHolder, 'host' | 'pid' | 'processStart'>, pid = process.pid) =>
	holder.host === hostname() && holder.pid === pid && holder.processStart === processStartTime(pid);

/**
 * Why `holder` no longer holds anything: its process is gone, or its pid is now another
 * process. Null when it may still hold the lock (alive, or on another host: this host
 * cannot tell).
 */
export function staleReason(holder: Pick<FileLockHolder, 'host' | 'pid' | 'processStart'>): string | null {
	if (holder.host !== hostname() || holder.pid <= 0) return null;
	if (!processAlive(holder.pid)) return `pid ${holder.pid} is gone`;
	const start = processStartTime(holder.pid);
	if (holder.processStart !== null && start !== null && start !== holder.processStart) return `pid ${holder.pid} is now another process`;
	return null;
}

export interface CreateLockOptions {
	mode?: number;
	/**
	 * On a disk too full to write the holder, create the file empty: it still locks, and
	 * only messages lose who holds it. Without this, the disk-full error is thrown.
	 */
	emptyWhenFull?: boolean;
}

/**
 * Creates the lock file holding `holder`, exclusively (link(): of two at once only one
 * wins, and nobody sees it half-written). Returns its inode, or null when it exists.
 */
export async function createLockFile(file: string, holder: object, options: CreateLockOptions = {}): Promise<number | null> {
	const mode = options.mode ?? 0o600;
	try {
		if (!(await createFileExclusive(file, `${JSON.stringify(holder)}\n`, {mode}))) return null;
	} catch (error) {
		if (!options.emptyWhenFull || !isDiskFull(error)) throw error;
		try {
			await (await open(file, 'wx', mode)).close();
		} catch (createError) {
			if (errorCode(createError) === 'EEXIST') return null;
			throw createError;
		}
	}
	return (await stat(file)).ino;
}

/** The lock file's text and inode; null when there is no lock. */
export async function readLockFile(file: string): Promise<{text: string; ino: number; mtimeMs: number} | null> {
	try {
		const info = await stat(file);
		return {text: await readFile(file, 'utf8'), ino: info.ino, mtimeMs: info.mtimeMs};
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return null;
		throw error;
	}
}
