import {removeBackupFiles} from '../database/backups.js';
import {createHash} from 'node:crypto';
import {mkdir} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {gzipSync} from 'node:zlib';
import type {DiskEngine, DiskHost} from '../../engine/types.js';
import {errorText} from '../../presentation/text.js';
import {isDiskFull, writeFileAtomic} from '../atomic-file.js';
import {LOG_TAIL, type DiskAction, type DiskReport} from './plan.js';
import {recordStatus} from '../step-kit.js';
import type {StepId} from '../timeline.js';

/**
 * Runs the Disk step's actions one at a time, each by ID or name, measuring what each freed
 * (statfs of Docker's root dir before and after) and recording it in the timeline.
 */

export interface DiskRunner {
	engine: DiskEngine;
	host: DiskHost;
	report: Pick<DiskReport, 'engine' | 'project'>;
	/** `<incident>/evidence`: where a log's tail is saved before the log is truncated. */
	evidenceDir: string;
	/** Where the tail goes instead when the evidence dir's disk is full (a tmpfs), or null. */
	fallbackDir?: () => Promise<string | null>;
	record: (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<unknown>;
	now?: () => number;
}

export interface DiskActionResult {
	id: string;
	action: DiskAction['kind'];
	target: string;
	name: string;
	ok: boolean;
	/** What it freed: measured by statfs, told by the Engine (build cache), or the estimate (a remote engine). */
	bytesFreed: number;
	estimate: number;
	measuredBy: 'statfs' | 'engine' | 'file' | 'estimate';
	error: string | null;
	ms: number;
	/** The saved tail of a truncated log. */
	saved?: {file: string; bytes: number; lines: number; sha256: string};
}

export interface DiskPruneResult {
	results: DiskActionResult[];
	/** Free bytes on Docker's filesystem before the first action and after the last (null for a remote engine). */
	before: number | null;
	after: number | null;
	freedBytes: number;
	estimate: number;
	failed: number;
}

async function freeBytes(runner: DiskRunner): Promise<number | null> {
	if (!runner.report.engine.local) return null;
	return (await runner.host.fsUsage(runner.report.engine.dockerRootDir).catch(() => null))?.free ?? null;
}

const safeName = (name: string) => name.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_') || '_';
const stamp = (time: number) => new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

async function saveTail(runner: DiskRunner, action: DiskAction, now: number): Promise<NonNullable<DiskActionResult['saved']>> {
	const tail = await runner.host.readTail(action.path!, LOG_TAIL);
	const gz = gzipSync(tail.data);
	const name = join('disk', `${safeName(action.name)}-${stamp(now)}.json.log.gz`);
	const write = async (dir: string) => {
		const file = join(dir, name);
		await mkdir(dirname(file), {recursive: true, mode: 0o700});
		await writeFileAtomic(file, gz, {mode: 0o600});
		return file;
	};
	let file: string;
	try {
		file = await write(runner.evidenceDir);
	} catch (error) {
		const fallback = isDiskFull(error) ? await runner.fallbackDir?.() : null;
		if (!fallback) throw error;
		file = await write(fallback);
	}
	return {file, bytes: gz.length, lines: tail.lines, sha256: createHash('sha256').update(gz).digest('hex')};
}

/** Runs one action and records `disk_action`; a failure is a result, not a throw. */
export async function runDiskAction(runner: DiskRunner, action: DiskAction): Promise<DiskActionResult> {
	const result = await executeDiskAction(runner, action);
	await runner.record('disk', 'disk_action', {...result});
	return result;
}

/** Runs one action and measures it, recording nothing. */
async function executeDiskAction(runner: DiskRunner, action: DiskAction): Promise<DiskActionResult> {
	const now = runner.now ?? Date.now;
	const started = performance.now();
	const before = await freeBytes(runner);
	let engineBytes: number | null = null;
	// A backup is our own file, perhaps on another filesystem than Docker's: its size is what goes.
	let fileBytes: number | null = null;
	let saved: DiskActionResult['saved'];
	let error: string | null = null;
	try {
		switch (action.kind) {
			case 'remove-container':
				await runner.engine.removeContainer(action.target);
				break;
			case 'remove-image':
				await runner.engine.removeImage(action.target);
				break;
			case 'remove-volume':
				await runner.engine.removeVolume(action.target);
				break;
			case 'prune-build-cache':
				engineBytes = await runner.engine.pruneBuildCache();
				break;
			case 'remove-backup':
				await removeBackupFiles(action.target, dirname(action.target));
				fileBytes = action.bytes;
				break;
			case 'truncate-log': {
				if (!action.path) throw new Error('no log file to truncate');
				try {
					saved = await saveTail(runner, action, now());
				} catch (saveError) {
					// Never truncate what could not be kept first.
					throw new Error(`could not save the log's tail, so nothing was truncated: ${errorText(saveError)}`);
				}
				await runner.host.truncate(action.path);
				break;
			}
		}
	} catch (caught) {
		error = errorText(caught);
	}
	const after = await freeBytes(runner);
	const ok = error === null;
	const measuredBy = engineBytes !== null ? 'engine' : fileBytes !== null ? 'file' : before !== null && after !== null ? 'statfs' : 'estimate';
	const bytesFreed = !ok
		? Math.max(0, (after ?? 0) - (before ?? 0))
		: measuredBy === 'engine'
			? engineBytes!
			: measuredBy === 'file'
				? fileBytes!
				: measuredBy === 'statfs'
					? Math.max(0, after! - before!)
					: action.bytes;
	const result: DiskActionResult = {
		id: action.id,
		action: action.kind,
		target: action.target,
		name: action.name,
		ok,
		bytesFreed,
		estimate: action.bytes,
		measuredBy,
		error,
		ms: Math.round(performance.now() - started),
		...(saved ? {saved} : {}),
	};
	return result;
}

/** Runs the actions in order, one at a time, and records `disk_prune_complete`. */
export async function runDiskPrune(
	runner: DiskRunner,
	actions: readonly DiskAction[],
	hooks: {onStart?: (action: DiskAction, index: number) => void; onResult?: (result: DiskActionResult, index: number) => void; signal?: AbortSignal} = {},
): Promise<DiskPruneResult> {
	const before = await freeBytes(runner);
	const results: DiskActionResult[] = [];
	const queue = [...actions];
	const deferred = new Set<DiskAction>();
	for (let index = 0; queue.length > 0; index++) {
		if (hooks.signal?.aborted) break;
		const action = queue.shift()!;
		hooks.onStart?.(action, index);
		const result = await executeDiskAction(runner, action);
		// An image something unlisted was built on: once more after the rest (which may be it).
		if (!result.ok && action.kind === 'remove-image' && /dependent child images/.test(result.error ?? '') && !deferred.has(action) && queue.length > 0) {
			deferred.add(action);
			queue.push(action);
			index--;
			continue;
		}
		await runner.record('disk', 'disk_action', {...result});
		results.push(result);
		hooks.onResult?.(result, index);
	}
	const after = await freeBytes(runner);
	const freedBytes = before !== null && after !== null ? after - before : results.reduce((sum, r) => sum + r.bytesFreed, 0);
	const estimate = actions.reduce((sum, a) => sum + a.bytes, 0);
	const failed = results.filter(r => !r.ok).length;
	await runner.record('disk', 'disk_prune_complete', {freedBytes, before, after, estimate, actions: results.length, failed});
	return {results, before, after, freedBytes, estimate, failed};
}

/** A runner that also knows the filesystems to watch and the threshold. */
export type DiskStepRunner = DiskRunner & {report: Pick<DiskReport, 'engine' | 'project' | 'filesystems' | 'thresholdPercent'>};

export interface DiskStepResult extends DiskPruneResult {
	/** Whether a watched filesystem is still at or over the threshold after the run. */
	over: boolean;
}

/**
 * The Disk step's run, for `disk prune` and the console alike: the actions one at a time
 * (runDiskPrune), then the step's status — failed when an action failed, done when every
 * watched filesystem is back under the threshold, unchanged (in progress) otherwise.
 */
export async function runDiskStep(
	runner: DiskStepRunner,
	actions: readonly DiskAction[],
	hooks: Parameters<typeof runDiskPrune>[2] = {},
): Promise<DiskStepResult> {
	const result = await runDiskPrune(runner, actions, hooks);
	const {filesystems, thresholdPercent} = runner.report;
	const after = await Promise.all(filesystems.map(f => runner.host.fsUsage(f.path).catch(() => null)));
	const over = after.some(f => f !== null && f.usedPercent >= thresholdPercent);
	if (result.failed > 0) await recordStatus(runner.record, 'disk', 'failed', `${result.failed} of ${result.results.length} actions failed`);
	else if (!over) await recordStatus(runner.record, 'disk', 'done');
	return {...result, over};
}

/**
 * What a fresh look at the disk says of the step: done once every watched filesystem is under
 * the threshold (nothing to free), with the figures; null while one is over.
 */
export function diskStepSettled(report: Pick<DiskReport, 'over' | 'thresholdPercent' | 'filesystems'>): {status: 'done'; reason: string} | null {
	if (report.over) return null;
	const worst = Math.max(0, ...report.filesystems.map(f => f.usedPercent));
	return {status: 'done', reason: `under the threshold: ${Math.round(worst)}% used, threshold ${report.thresholdPercent}%`};
}
