import {mkdir, readdir, rm} from 'node:fs/promises';
import path from 'node:path';
import {ConsoleError, exitCodes} from '../../errors.js';
import {errorCode, isDiskFull} from '../atomic-file.js';
import {incidentFiles, newIncidentId} from '../layout.js';
import type {Operator} from '../operator.js';
import {countTotal} from '../redaction.js';
import type {StepId} from '../timeline.js';
import {loadTar, resolveOut, writeArchive} from './archive.js';
import {choosePlace, placeAfterDiskFull, type Place} from './location.js';
import {buildManifest, writeManifest, type ManifestHead} from './manifest.js';
import type {BundleFile, CaptureProgress, CaptureResult, EvidenceItem, EvidencePlan, ManifestItem} from './types.js';
import {writeContent} from './write-content.js';
import {errorText} from '../../presentation/text.js';
import {trace} from '../../trace.js';

export type RecordEvent = (step: StepId | null, type: string, data: {[key: string]: unknown}) => Promise<unknown>;

export interface CaptureOptions {
	incident: {id: string; dir: string};
	operator: Pick<Operator, 'user' | 'host' | 'sshConnection' | 'sudoUser'>;
	/** Appends to the incident timeline. */
	record: RecordEvent;
	/** False only for an explicit --no-redact: recorded in the manifest and the timeline. */
	redact: boolean;
	/** --out FILE or DIR; default: the incident's bundles/ directory. */
	out?: string | undefined;
	/** Logs collected at once (default 4); small items: this many or 16, whichever is more. */
	concurrency?: number;
	/** An item that takes longer fails with a timeout (default 5 minutes). */
	itemTimeoutMs?: number;
	onProgress?: (progress: CaptureProgress) => void;
	/** Things the operator must be told now (falling back to tmpfs, a timeline that cannot be written). */
	onNotice?: (text: string) => void;
	signal?: AbortSignal;
	env?: NodeJS.ProcessEnv;
	now?: () => number;
	cwd?: string;
}

/** Thrown from an item when the disk filled up: the capture moves, the item is not "failed". */
class DiskFull extends Error {
	constructor(
		readonly file: string,
		readonly code: string,
	) {
		super(`no space left while writing ${file}`);
	}
}

const iso = (ms: number) => new Date(ms).toISOString();
/** An item this big (a log) is collected beside the small ones, not in their turn. */
const longItem = 1024 * 1024;
/** Small items collected at once (a container's inspect and health, an image's, compose's, the Engine's). */
const smallAtOnce = 16;

export const bundlesDir = (incidentDir: string) => incidentFiles(incidentDir).bundles;
export const captureDir = (incidentDir: string, captureId: string) => path.join(incidentFiles(incidentDir).evidence, captureId);
export const captureBundleName = (project: string, captureId: string) => `evidence-${project}-${captureId}`;

/** `work`, or the signal's reason as soon as it aborts: an item that ignores its signal cannot hold the capture up. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
	work.catch(() => {});
	if (signal.aborted) return Promise.reject(signal.reason as Error);
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(signal.reason as Error);
		signal.addEventListener('abort', onAbort, {once: true});
		work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
	});
}

/**
 * Runs the items biggest first, `concurrency` of the logs at a time and the small items beside
 * them (so the long logs overlap the many small items), each with its own deadline. A failing item is recorded and the rest go on;
 * a full disk or an abort stops them all.
 */
async function runItems(
	plan: EvidencePlan,
	dir: string,
	options: CaptureOptions,
	signal: AbortSignal,
): Promise<ManifestItem[]> {
	const now = options.now ?? Date.now;
	const items = plan.items;
	const results: Array<ManifestItem | undefined> = new Array(items.length);
	const order = items.map((_, i) => i).sort((a, b) => items[b]!.estimate - items[a]!.estimate || a - b);
	const stop = new AbortController();
	const stopAll = AbortSignal.any([signal, stop.signal]);
	let finished = 0;
	let fatal: unknown = null;
	// What items are still doing after we stopped waiting for them (an item that ignores its signal).
	const inflight = new Set<Promise<unknown>>();
	const writeOptions = {redact: options.redact, redactOptions: {extraPatterns: plan.extraPatterns}};
	const timeoutMs = options.itemTimeoutMs ?? 300_000;

	const runOne = async (item: EvidenceItem, index: number) => {
		const startedAt = iso(now());
		options.onProgress?.({item, state: 'running', bytes: 0, finished, total: items.length});
		// A timer that holds the process open (AbortSignal.timeout's does not): an item that
		// never answers must still end, with nothing else left to wait for.
		const expiry = new AbortController();
		const timer = setTimeout(() => expiry.abort(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
		const deadline = expiry.signal;
		const itemSignal = AbortSignal.any([stopAll, deadline]);
		// In the manifest's order: what, how, where, then how it went.
		// A collector that fell back says how it collected instead.
		let how = item.how;
		const entry = (written: Omit<ManifestItem, 'id' | 'what' | 'how' | 'file' | 'startedAt' | 'endedAt'>): ManifestItem => {
			const {bytes, sha256, ...rest} = written;
			return {id: item.id, what: item.what, how, file: item.file, bytes, sha256, startedAt, endedAt: iso(now()), ...rest};
		};
		try {
			const work = (async () => {
				const content = await item.collect(itemSignal);
				if ('how' in content && content.how) how = content.how;
				return writeContent(path.join(dir, item.file), content, writeOptions, itemSignal);
			})();
			inflight.add(work);
			void work.catch(() => {}).finally(() => inflight.delete(work));
			const written = await untilAborted(work, itemSignal);
			results[index] = entry({
				bytes: written.bytes,
				sha256: written.sha256,
				ok: written.error === null,
				error: written.error,
				truncated: written.truncated,
				note: written.note,
				redactions: written.redactions,
			});
		} catch (error) {
			if (isDiskFull(error)) throw new DiskFull(item.file, errorCode(error) ?? 'ENOSPC');
			if (stopAll.aborted) throw error;
			const message = deadline.aborted ? `timed out after ${Math.round(timeoutMs / 1000)} s` : errorText(error);
			results[index] = entry({bytes: 0, sha256: null, ok: false, error: message, truncated: false, note: null, redactions: {}});
		} finally {
			clearTimeout(timer);
		}
		finished++;
		trace(`${item.id} written`);
		const result = results[index]!;
		options.onProgress?.({
			item,
			state: result.ok ? 'done' : 'failed',
			bytes: result.bytes,
			...(result.error ? {error: result.error} : {}),
			finished,
			total: items.length,
		});
	};

	const worker = async (queue: number[]) => {
		while (!stopAll.aborted && queue.length > 0) {
			const index = queue.shift()!;
			try {
				await runOne(items[index]!, index);
			} catch (error) {
				fatal ??= error;
				stop.abort();
			}
		}
	};
	// The logs and the small items each have their workers: the small ones (compose's answers,
	// system df) are collected while the logs are read, not one at a time beside them. The small
	// ones all at once: each is a request or a process start, and one waiting for a turn behind
	// the others waits as long again, on a main thread busy with the logs.
	const long = order.filter(i => items[i]!.estimate >= longItem);
	const small = order.filter(i => items[i]!.estimate < longItem);
	const workers = Math.max(1, options.concurrency ?? 4);
	await Promise.all([
		...Array.from({length: Math.min(workers, Math.max(1, long.length))}, () => worker(long)),
		...Array.from({length: Math.min(Math.max(workers, smallAtOnce), Math.max(1, small.length))}, () => worker(small)),
	]);
	if (fatal || signal.aborted) {
		// Let writes that are still going finish (briefly) before the caller removes or leaves the directory.
		await Promise.race([Promise.allSettled([...inflight]), new Promise(resolve => setTimeout(resolve, 2000).unref())]);
	}
	if (fatal) throw fatal;
	signal.throwIfAborted();
	return results.map(r => r!);
}

/**
 * Captures the evidence of `plan` into the incident's `evidence/<capture-id>/` with its
 * manifest, and archives it (tar.gz, 0600, with a .sha256 beside it). The manifest says
 * `complete: false` until the last item is written. A full disk moves the capture to the
 * tmpfs fallback, and says so; the timeline is only ever appended to.
 */
export async function captureEvidence(plan: EvidencePlan, options: CaptureOptions): Promise<CaptureResult> {
	const now = options.now ?? Date.now;
	const env = options.env ?? process.env;
	const signal = options.signal ?? new AbortController().signal;
	const notice = (text: string) => options.onNotice?.(text);
	const record = async (type: string, data: {[key: string]: unknown}) => {
		try {
			await options.record('evidence', type, data);
		} catch (error) {
			// The evidence matters more than its line in the timeline.
			notice(`could not record ${type} in the timeline: ${errorText(error)}`);
		}
	};

	const captureId = newIncidentId(now());
	const startedAt = iso(now());
	const name = captureBundleName(plan.project, captureId);
	// A bad --out fails now, not after the capture.
	const out = await resolveOut(options.out, `${name}.tar.gz`, options.cwd);

	let place: Place = await choosePlace(options.incident.dir, plan.estimateBytes, env);
	if (place.fellBack) notice(`the state dir's disk is full: ${place.reason}; writing the evidence to ${place.incidentDir} instead (tmpfs: lost on reboot; copy it off the box)`);

	await record('evidence_capture_start', {
		captureId,
		dir: captureDir(place.incidentDir, captureId),
		items: plan.items.length,
		estimateBytes: plan.estimateBytes,
		redact: options.redact,
		...(options.redact ? {} : {warning: 'redaction turned off with --no-redact: the bundle holds secrets'}),
		fellBack: place.fellBack ? {from: place.intendedDir, to: place.incidentDir, reason: place.reason} : null,
	});

	let dir = '';
	let items: ManifestItem[] = [];
	let head: ManifestHead | null = null;
	try {
		for (;;) {
			dir = captureDir(place.incidentDir, captureId);
			head = {
				captureId,
				project: plan.project,
				incident: options.incident.id,
				host: options.operator.host,
				operator: {user: options.operator.user, ssh: options.operator.sshConnection, sudoUser: options.operator.sudoUser},
				startedAt,
				redact: options.redact,
				extraPatterns: plan.extraPatterns.length,
				logCapBytes: plan.logCapBytes,
				location: {dir, fellBack: place.fellBack, reason: place.reason, intendedDir: captureDir(place.intendedDir, captureId)},
			};
			try {
				await mkdir(dir, {recursive: true, mode: 0o700});
				// Written first: whatever happens next, nobody takes this for a whole capture.
				await writeManifest(dir, buildManifest(head, [], false, null));
				void loadTar().catch(() => {});
				trace('collecting');
				items = await runItems(plan, dir, options, signal);
				trace('collected');
				await writeManifest(dir, buildManifest(head, items, true, iso(now())));
				break;
			} catch (error) {
				const code = errorCode(error) ?? '';
				// The state dir's filesystem went away (unmounted, remounted read-only): like a full disk, carry on in the fallback.
				const gone = ['ENOENT', 'EROFS', 'EIO', 'ESTALE'].includes(code);
				const full = error instanceof DiskFull ? error : isDiskFull(error) || gone ? new DiskFull('manifest.json', code || 'ENOSPC') : null;
				if (!full) throw error;
				const placed = await placeAfterDiskFull(place, full.file, full.code, env);
				const moved = placed && gone ? {...placed, reason: `the filesystem holding ${place.incidentDir} is gone or read-only (${code}) while writing ${full.file}`} : placed;
				if (!moved) {
					throw new ConsoleError(
						`the disk holding ${dir} is full (${full.code}) and no tmpfs fallback is writable: free space, or set ROLLBACK_CONSOLE_FALLBACK_DIR`,
						exitCodes.failedMidway,
					);
				}
				// Ours, half written: removing it gives back the space it took.
				await rm(dir, {recursive: true, force: true}).catch(() => {});
				place = moved;
				notice(`${moved.reason}; capturing again into ${moved.incidentDir} (tmpfs: lost on reboot; copy it off the box)`);
			}
		}
	} catch (error) {
		if (signal.aborted) {
			await record('evidence_capture_interrupted', {captureId, dir, reason: errorText(signal.reason ?? error)});
			throw new ConsoleError(`capture interrupted: ${dir} is incomplete (its manifest says complete: false)`, exitCodes.failedMidway);
		}
		throw error;
	}

	const manifest = buildManifest(head!, items, true, iso(now()));
	let bundle: BundleFile;
	const entries = await readdir(dir);
	try {
		bundle = await writeArchive({cwd: dir, entries, prefix: name, file: out ?? path.join(bundlesDir(place.incidentDir), `${name}.tar.gz`)});
	} catch (error) {
		// The files are safe; only the archive did not fit. Put it beside them on tmpfs.
		const moved = out === null && isDiskFull(error) ? await placeAfterDiskFull(place, 'the archive', errorCode(error) ?? 'ENOSPC', env) : null;
		if (!moved) throw error;
		notice(`${moved.reason}; writing the archive to ${bundlesDir(moved.incidentDir)} instead`);
		bundle = await writeArchive({cwd: dir, entries, prefix: name, file: path.join(bundlesDir(moved.incidentDir), `${name}.tar.gz`)});
	}

	trace('archived');
	const fellBack = place.fellBack ? {from: place.intendedDir, to: place.incidentDir, reason: place.reason ?? ''} : null;
	await record('evidence_capture_complete', {
		captureId,
		dir,
		bundle: bundle.file,
		sha256: bundle.sha256,
		bytes: bundle.bytes,
		items: manifest.summary.items,
		failed: manifest.items.filter(i => !i.ok).map(i => ({id: i.id, error: i.error})),
		truncated: manifest.items.filter(i => i.truncated).map(i => i.id),
		redact: options.redact,
		redacted: {total: countTotal(manifest.redaction.counts), ...manifest.redaction.counts},
		fellBack,
	});
	const failed = manifest.summary.failed;
	await record('step_status', failed === 0 ? {status: 'done'} : {status: 'done', reason: `${failed} of ${manifest.summary.items} items failed`});
	return {captureId, dir, manifest, bundle, fellBack};
}
