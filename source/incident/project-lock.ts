import {readFileSync, unlinkSync} from 'node:fs';
import {mkdir, readFile, stat} from 'node:fs/promises';
import {hostname} from 'node:os';
import {join} from 'node:path';
import {ConsoleError} from '../errors.js';
import {createFileExclusive, errorCode, removeIfSame, syncDir, writeFileAtomic} from './atomic-file.js';
import {processAlive, type Operator} from './operator.js';

/**
 * `<state>/<project>/lock`: one operator at a time changes a project. It names who holds it
 * (user, SSH connection, pid and that process's start time, since when, doing what). A
 * holder whose process is gone — or whose pid now belongs to another process — is stale, and
 * is taken over only when the operator confirms.
 */

export interface LockHolder {
	user: string;
	/** SSH_CONNECTION of the holder's session; null on a local console. */
	ssh: string | null;
	pid: number;
	/** /proc/<pid>/stat starttime (clock ticks since boot): a reused pid is another process. */
	processStart: number | null;
	since: string;
	what: string;
	host: string;
}

export type LockState =
	| {state: 'free'}
	| {state: 'mine'; holder: LockHolder}
	| {state: 'held'; holder: LockHolder}
	| {state: 'stale'; holder: LockHolder; reason: string};

export const lockFile = (projectDir: string) => join(projectDir, 'lock');

/** The start time of a process (field 22 of /proc/<pid>/stat), or null when it is gone or unknown. */
export function processStartTime(pid: number): number | null {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name (field 2) may hold spaces and parentheses: count from the last ')'.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		const start = Number(fields[19]);
		return Number.isFinite(start) ? start : null;
	} catch {
		return null;
	}
}


/** The lock naming `pid` (this process unless said otherwise) on behalf of `operator`. */
export function holderFor(operator: Pick<Operator, 'user' | 'sshConnection' | 'host'>, what: string, pid = process.pid): LockHolder {
	return {
		user: operator.user,
		ssh: operator.sshConnection,
		pid,
		processStart: processStartTime(pid),
		since: new Date().toISOString(),
		what,
		host: operator.host,
	};
}

function parseHolder(text: string): LockHolder | null {
	try {
		const value = JSON.parse(text) as Partial<LockHolder>;
		if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null;
		return {
			user: String(value.user ?? '?'),
			ssh: typeof value.ssh === 'string' ? value.ssh : null,
			pid: value.pid,
			processStart: typeof value.processStart === 'number' ? value.processStart : null,
			since: String(value.since ?? '?'),
			what: String(value.what ?? '?'),
			host: value.host,
		};
	} catch {
		return null;
	}
}

export async function readLock(projectDir: string): Promise<LockHolder | null> {
	let text: string;
	try {
		text = await readFile(lockFile(projectDir), 'utf8');
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return null;
		throw error;
	}
	// An unreadable lock still locks: it is shown as held by an unknown process.
	return parseHolder(text) ?? {user: '?', ssh: null, pid: 0, processStart: null, since: '?', what: 'unreadable lock file', host: '?'};
}

/** Whether `holder` is this very process. */
export const isSelf = (holder: LockHolder, pid = process.pid) =>
	holder.host === hostname() && holder.pid === pid && holder.processStart === processStartTime(pid);

/** Held, stale or ours, as far as this host can tell. */
export function judge(holder: LockHolder, self = process.pid): Exclude<LockState, {state: 'free'}> {
	if (isSelf(holder, self)) return {state: 'mine', holder};
	if (holder.host !== hostname() || holder.pid <= 0) return {state: 'held', holder};
	if (!processAlive(holder.pid)) return {state: 'stale', holder, reason: `pid ${holder.pid} is gone`};
	const start = processStartTime(holder.pid);
	if (holder.processStart !== null && start !== null && start !== holder.processStart) {
		return {state: 'stale', holder, reason: `pid ${holder.pid} is now another process`};
	}
	return {state: 'held', holder};
}

export async function lockState(projectDir: string): Promise<LockState> {
	const holder = await readLock(projectDir);
	return holder ? judge(holder) : {state: 'free'};
}

const time = (iso: string) => (iso.length >= 16 ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : iso);

/** "alice (ssh from 203.0.113.5, pid 4242 on prod-1) since 2026-11-22 03:12 UTC: rollback to v1.3.9" */
export function describeHolder(holder: LockHolder): string {
	const from = holder.ssh ? `ssh from ${holder.ssh.split(' ')[0]}, ` : '';
	return `${holder.user} (${from}pid ${holder.pid} on ${holder.host}) since ${time(holder.since)}: ${holder.what}`;
}

/** Removes the lock file only if it is still the one we looked at (same inode). */

export interface AcquireOptions {
	/** Take over a stale lock (the operator confirmed, or --yes). */
	takeOverStale?: boolean;
}

export interface Acquired {
	holder: LockHolder;
	/** The stale holder taken over, to record. */
	tookOver: LockHolder | null;
}

/**
 * Takes the project's lock for `holder`, exclusively (link(), so two at once cannot both
 * win). A live holder: ConsoleError naming it. A stale one: ConsoleError with its details,
 * unless `takeOverStale`.
 */
export async function acquireLock(projectDir: string, holder: LockHolder, options: AcquireOptions = {}): Promise<Acquired> {
	await mkdir(projectDir, {recursive: true, mode: 0o700});
	const file = lockFile(projectDir);
	for (let attempt = 0; attempt < 5; attempt++) {
		if (await createFileExclusive(file, `${JSON.stringify(holder)}\n`, {mode: 0o644})) return {holder, tookOver: null};
		let info;
		try {
			info = await stat(file);
		} catch (error) {
			if (errorCode(error) === 'ENOENT') continue;
			throw error;
		}
		const current = await readLock(projectDir);
		if (!current) continue;
		const state = judge(current, holder.pid);
		if (state.state === 'mine') return {holder: current, tookOver: null};
		if (state.state === 'held') throw new ConsoleError(`the project is locked by ${describeHolder(current)}`);
		if (!options.takeOverStale) {
			throw new ConsoleError(
				`stale lock (${state.reason}) of ${describeHolder(current)}: confirm to take it over (--yes), or remove ${file}`,
			);
		}
		if (await removeIfSame(file, info.ino)) {
			if (await createFileExclusive(file, `${JSON.stringify(holder)}\n`, {mode: 0o644})) return {holder, tookOver: current};
		}
	}
	const current = await readLock(projectDir);
	throw new ConsoleError(`the project is locked by ${current ? describeHolder(current) : 'another process'}`);
}

/** Rewrites the lock for a new holder (the worker), if `from` still holds it. */
export async function handOver(projectDir: string, from: Pick<LockHolder, 'pid' | 'processStart'>, to: LockHolder): Promise<boolean> {
	const current = await readLock(projectDir);
	if (!current || current.pid !== from.pid || current.processStart !== from.processStart) return false;
	await writeFileAtomic(lockFile(projectDir), `${JSON.stringify(to)}\n`, {mode: 0o644});
	return true;
}

/** Removes the lock if `mine` holds it; true when it did. */
export async function releaseLock(projectDir: string, mine: Pick<LockHolder, 'pid' | 'processStart'>): Promise<boolean> {
	const file = lockFile(projectDir);
	let info;
	try {
		info = await stat(file);
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return false;
		throw error;
	}
	const current = await readLock(projectDir);
	if (!current || current.pid !== mine.pid || current.processStart !== mine.processStart) return false;
	const removed = await removeIfSame(file, info.ino);
	await syncDir(projectDir).catch(() => {});
	return removed;
}

/** releaseLock for exit paths that cannot wait (the console quitting, a signal). */
export function releaseLockSync(projectDir: string, mine: Pick<LockHolder, 'pid' | 'processStart'>): boolean {
	try {
		const current = parseHolder(readFileSync(lockFile(projectDir), 'utf8'));
		if (!current || current.pid !== mine.pid || current.processStart !== mine.processStart) return false;
		unlinkSync(lockFile(projectDir));
		return true;
	} catch {
		return false;
	}
}
