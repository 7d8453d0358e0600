import {spawn, type ChildProcess} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {closeSync, openSync, rmdirSync, rmSync} from 'node:fs';
import {mkdir, open, readFile, rename} from 'node:fs/promises';
import {hostname} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {setTimeout as sleep} from 'node:timers/promises';
import {errorCode, writeFileAtomic} from '../atomic-file.js';
import {handOver, holderFor, judge, processStartTime, type LockHolder} from '../project-lock.js';
import type {RollbackPlan} from './plan.js';
import {workerPaths, type WorkerJob, type WorkerPaths, type WorkerResult} from './run.js';

/**
 * Starts the detached worker for a confirmed plan and follows it. The worker gets its own
 * session (detached: setsid), stdio to files, and the project lock; whoever started it may
 * go away at any moment after `launchWorker` returns.
 */

/** `20261122T031209Z-rollback-4f2a`: sorts by time. */
export const newRunId = (kind: string, time = Date.now()) =>
	`${new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${kind}-${randomBytes(2).toString('hex')}`;

/** Set (esbuild define) in the bundle (dist/ and the single file), which runs itself again with it. */
declare const ROLLBACK_CONSOLE_WORKER_ARG: string | undefined;

/** The worker: the CLI again (dist/cli.js; Bun's single file is its own runtime), or its script under tsx (the tests). */
function workerCommand(): string[] {
	if (typeof ROLLBACK_CONSOLE_WORKER_ARG === 'string') {
		return process.versions['bun'] ? [ROLLBACK_CONSOLE_WORKER_ARG] : [process.argv[1]!, ROLLBACK_CONSOLE_WORKER_ARG];
	}
	const self = import.meta.url;
	if (self.endsWith('.ts')) {
		return ['--import', 'tsx', fileURLToPath(new URL('../../console/rollback-worker.ts', self))];
	}
	return [fileURLToPath(new URL('../../console/rollback-worker.js', self))];
}

export interface Launched {
	runId: string;
	pid: number;
	processStart: number | null;
	paths: WorkerPaths;
	/** Only for the process that started it: resolves when the worker exits. */
	child: ChildProcess;
	exited: Promise<void>;
}

export interface LaunchOptions {
	plan: RollbackPlan;
	/** `incidents/<id>/worker` (or a deploy's own directory). */
	workerDir: string;
	timelineFile: string;
	projectDir: string;
	incident: string | null;
	operator: WorkerJob['operator'];
	/** The lock this process holds now; it is handed to the worker. */
	lock: LockHolder;
	/** Give the lock back to this holder at the end (an open console). */
	returnLockTo: LockHolder | null;
	env?: NodeJS.ProcessEnv;
	/** A worker started ahead (startSpareWorker): it gets this job, if it is still there. */
	spare?: SpareWorker | null;
}

/**
 * A worker started before its plan exists, so its start (a Node process and the CLI's modules,
 * ~100–200 ms on a loaded box) overlaps the planning instead of following it. It is detached
 * with its output going to files, like any worker, and waits for a job file's path on stdin; if
 * this process goes away before handing one over (stdin ends), it removes its files and exits
 * having done nothing. Handed a job, it is the worker: nothing differs from then on.
 */
export interface SpareWorker {
	dir: string;
	child: ChildProcess;
	exited: Promise<void>;
	/** Still waiting for its job. */
	readonly alive: boolean;
	/** Shows it the confirmed plan: it starts the plan's pull at once (false: it is gone). */
	pull(plan: RollbackPlan): boolean;
	/** Lets it go without a job (a refusal, a cancel): it stops that pull, exits and removes its directory. */
	discard(): void;
}

export async function startSpareWorker(stateDir: string, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<SpareWorker> {
	const dir = join(stateDir, 'spare-workers', `${process.pid}-${randomBytes(3).toString('hex')}`);
	await mkdir(dir, {recursive: true, mode: 0o700});
	const spare = workerPaths(dirname(dir), dir.split('/').at(-1)!);
	const out = openSync(spare.output, 'a', 0o600);
	const err = openSync(spare.errors, 'a', 0o600);
	let child: ChildProcess;
	try {
		child = spawn(process.execPath, [...workerCommand(), '-', dir], {detached: true, stdio: ['pipe', out, err], cwd, env});
	} finally {
		closeSync(out);
		closeSync(err);
	}
	child.stdin!.on('error', () => {});
	// Neither the child nor the pipe keeps this process alive: its exit ends the pipe, and the spare.
	child.unref();
	(child.stdin as unknown as {unref?: () => void}).unref?.();
	let gone = false;
	const exited = new Promise<void>(resolve => {
		child.once('exit', () => ((gone = true), resolve()));
		child.once('error', () => ((gone = true), resolve()));
	});
	return {
		dir,
		child,
		exited,
		pull: plan => {
			if (gone || !child.stdin?.writable) return false;
			child.stdin.write(`${JSON.stringify(plan)}\n`);
			return true;
		},
		discard: () => {
			if (!gone && child.stdin?.writable) child.stdin.end();
			// Its directory goes now, not when it has noticed: a refused command leaves nothing in
			// the state dir behind it (once handed a job the directory is the run's, renamed away).
			rmSync(dir, {recursive: true, force: true});
			try {
				rmdirSync(dirname(dir));
			} catch {
				// Another spare's there, or it is gone already.
			}
		},
		get alive() {
			return !gone && child.exitCode === null && child.signalCode === null;
		},
	};
}

/** Hands the job to the spare: its directory becomes the run's (its output files stay open across the rename). */
async function handToSpare(spare: SpareWorker, paths: WorkerPaths, jobText: string): Promise<boolean> {
	if (!spare.alive || !spare.child.stdin?.writable) return false;
	try {
		await mkdir(dirname(paths.dir), {recursive: true, mode: 0o700});
		await rename(spare.dir, paths.dir);
	} catch {
		return false;
	}
	await writeFileAtomic(paths.job, jobText);
	spare.child.stdin.end(`${paths.job}\n`);
	return true;
}

export async function launchWorker(options: LaunchOptions): Promise<Launched> {
	const runId = newRunId(options.plan.kind);
	const paths = workerPaths(options.workerDir, runId);
	const job: WorkerJob = {
		version: 1,
		runId,
		plan: options.plan,
		timelineFile: options.timelineFile,
		projectDir: options.projectDir,
		incident: options.incident,
		operator: options.operator,
		lockFrom: {pid: options.lock.pid, processStart: options.lock.processStart},
		returnLockTo: options.returnLockTo,
	};
	const jobText = `${JSON.stringify(job, null, 2)}\n`;
	let child: ChildProcess;
	let exited: Promise<void>;
	if (options.spare && (await handToSpare(options.spare, paths, jobText))) {
		({child, exited} = options.spare);
	} else {
		options.spare?.discard();
		await mkdir(paths.dir, {recursive: true, mode: 0o700});
		await writeFileAtomic(paths.job, jobText);
		const out = openSync(paths.output, 'a', 0o600);
		const err = openSync(paths.errors, 'a', 0o600);
		try {
			child = spawn(process.execPath, [...workerCommand(), paths.job], {
				detached: true,
				stdio: ['ignore', out, err],
				cwd: options.plan.project.workingDir,
				env: options.env ?? process.env,
			});
		} finally {
			closeSync(out);
			closeSync(err);
		}
		const started = child;
		exited = new Promise<void>(resolve => {
			started.once('exit', () => resolve());
			started.once('error', () => resolve());
		});
	}
	const pid = child.pid ?? 0;
	const processStart = pid ? processStartTime(pid) : null;
	// The worker holds the lock from now on, even if we are killed the next instant.
	if (pid) await handOver(options.projectDir, options.lock, {...holderFor(options.operator, `${options.lock.what} (worker)`, pid), processStart});
	child.unref();
	return {runId, pid, processStart, paths, child, exited};
}

export interface RunProgress {
	runId: string;
	/** New output since the last poll. */
	output: string;
	running: boolean;
	result: WorkerResult | null;
}

/** Bytes up to the last whole UTF-8 character: one cut in half waits for the next read. */
function completeLength(buffer: Buffer): number {
	for (let i = buffer.length - 1; i >= Math.max(0, buffer.length - 4); i--) {
		const byte = buffer[i]!;
		if ((byte & 0xc0) === 0x80) continue;
		const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
		return i + need <= buffer.length ? buffer.length : i;
	}
	return buffer.length;
}

async function readFrom(file: string, offset: number): Promise<{text: string; size: number}> {
	let handle;
	try {
		handle = await open(file, 'r');
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return {text: '', size: offset};
		throw error;
	}
	try {
		const {size} = await handle.stat();
		if (size <= offset) return {text: '', size: offset};
		const buffer = Buffer.alloc(size - offset);
		await handle.read(buffer, 0, buffer.length, offset);
		const end = completeLength(buffer);
		return {text: buffer.subarray(0, end).toString('utf8'), size: offset + end};
	} finally {
		await handle.close();
	}
}

export async function readResult(paths: WorkerPaths): Promise<WorkerResult | null> {
	try {
		return JSON.parse(await readFile(paths.result, 'utf8')) as WorkerResult;
	} catch {
		return null;
	}
}

/** Whether the worker that holds `pid` (started at `processStart`) still runs. */
export const workerAlive = (pid: number, processStart: number | null) =>
	pid > 0 && judge({user: '', ssh: null, pid, processStart, since: '', what: '', host: hostname()}).state !== 'stale';

/**
 * Follows a worker: its output as it grows, until its result is written (or it is gone
 * without one). `wake` (the child's exit, when we started it) ends a poll early.
 */
export async function* followWorker(
	paths: WorkerPaths,
	worker: {pid: number; processStart: number | null; exited?: Promise<void>},
	{pollMs = 100, signal}: {pollMs?: number; signal?: AbortSignal} = {},
): AsyncGenerator<RunProgress> {
	let offset = 0;
	const runId = paths.dir.split('/').at(-1)!;
	let exited = false;
	void worker.exited?.then(() => (exited = true));
	for (;;) {
		if (signal?.aborted) return;
		const result = await readResult(paths);
		const gone = exited || !workerAlive(worker.pid, worker.processStart);
		const chunk = await readFrom(paths.output, offset);
		offset = chunk.size;
		if (result || gone) {
			// Whatever it wrote last, then the end.
			const rest = await readFrom(paths.output, offset);
			offset = rest.size;
			const errors = result ? '' : (await readFrom(paths.errors, 0)).text;
			yield {runId, output: chunk.text + rest.text + errors, running: false, result: result ?? (await readResult(paths))};
			return;
		}
		if (chunk.text) yield {runId, output: chunk.text, running: true, result: null};
		// Poll, but wake at once when the worker exits: no timer left to hold the exit up.
		const wake = new AbortController();
		void worker.exited?.then(() => wake.abort());
		await sleep(pollMs, undefined, {signal: signal ? AbortSignal.any([wake.signal, signal]) : wake.signal}).catch(() => {});
		wake.abort();
	}
}
