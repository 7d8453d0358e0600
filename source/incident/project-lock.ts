import {readFileSync, unlinkSync} from 'node:fs';
import {mkdir} from 'node:fs/promises';
import {ConsoleError} from '../errors.js';
import {errorCode, isDiskFull, syncDir, writeFileAtomic} from './atomic-file.js';
import {createLockFile, isHeldBy, processStartTime, readLockFile, removeIfSame, staleReason, type FileLockHolder} from './file-lock.js';
import {projectFiles} from './layout.js';
import type {Operator} from './operator.js';

export {processStartTime};

/**
 * `<state>/<project>/lock`: one operator at a time changes a project. It names who holds it
 * (user, SSH connection, pid and that process's start time, since when, doing what). A
 * holder whose process is gone — or whose pid now belongs to another process — is stale, and
 * is taken over only when the operator confirms.
 */

export interface LockHolder extends FileLockHolder {
	/** SSH_CONNECTION of the holder's session; null on a local console. */
	ssh: string | null;
	what: string;
}

export type LockState =
	| {state: 'free'}
	| {state: 'mine'; holder: LockHolder}
	| {state: 'held'; holder: LockHolder}
	| {state: 'stale'; holder: LockHolder; reason: string};

export const lockFile = (projectDir: string) => projectFiles(projectDir).lock;

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

// An unreadable lock still locks: it is shown as held by an unknown process.
const unreadable: LockHolder = {user: '?', ssh: null, pid: 0, processStart: null, since: '?', what: 'unreadable lock file', host: '?'};

async function readLockWithInode(projectDir: string): Promise<{holder: LockHolder; ino: number} | null> {
	const lock = await readLockFile(lockFile(projectDir));
	return lock ? {holder: parseHolder(lock.text) ?? unreadable, ino: lock.ino} : null;
}

export async function readLock(projectDir: string): Promise<LockHolder | null> {
	return (await readLockWithInode(projectDir))?.holder ?? null;
}

/** Whether `holder` is this very process. */
export const isSelf = (holder: LockHolder, pid = process.pid) => isHeldBy(holder, pid);

/** Held, stale or ours, as far as this host can tell. */
export function judge(holder: LockHolder, self = process.pid): Exclude<LockState, {state: 'free'}> {
	if (isSelf(holder, self)) return {state: 'mine', holder};
	const reason = staleReason(holder);
	return reason ? {state: 'stale', holder, reason} : {state: 'held', holder};
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
	try {
		return await acquire(projectDir, holder, options);
	} catch (error) {
		// Before anything has changed: one sentence, not a stack (the fault suite fills the disk).
		if (isDiskFull(error)) {
			throw new ConsoleError(`the state dir's disk is full (${errorCode(error)}): the project lock cannot be written in ${projectDir}, so nothing was changed; free some space there, or pass --state-dir on another disk`);
		}
		throw error;
	}
}

async function acquire(projectDir: string, holder: LockHolder, options: AcquireOptions): Promise<Acquired> {
	await mkdir(projectDir, {recursive: true, mode: 0o700});
	const file = lockFile(projectDir);
	for (let attempt = 0; attempt < 5; attempt++) {
		if ((await createLockFile(file, holder, {mode: 0o644})) !== null) return {holder, tookOver: null};
		const lock = await readLockWithInode(projectDir);
		if (!lock) continue;
		const current = lock.holder;
		const state = judge(current, holder.pid);
		if (state.state === 'mine') return {holder: current, tookOver: null};
		if (state.state === 'held') throw new ConsoleError(`the project is locked by ${describeHolder(current)}`);
		if (!options.takeOverStale) {
			throw new ConsoleError(
				`stale lock (${state.reason}) of ${describeHolder(current)}: confirm to take it over (--yes), or remove ${file}`,
			);
		}
		if (await removeIfSame(file, lock.ino)) {
			if ((await createLockFile(file, holder, {mode: 0o644})) !== null) return {holder, tookOver: current};
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
	const lock = await readLockWithInode(projectDir);
	if (!lock || lock.holder.pid !== mine.pid || lock.holder.processStart !== mine.processStart) return false;
	const removed = await removeIfSame(lockFile(projectDir), lock.ino);
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
