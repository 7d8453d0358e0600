// What a verification leaves behind: the timeline's account of every check (pass or fail),
// and — only on a pass — the release recorded `verified` in releases.jsonl with its digests,
// error baseline and migration head, so the next rollback's "last known good" is this one.
import {mkdir} from 'node:fs/promises';
import {dirname} from 'node:path';
import {confirmationFor, recordStatus, runAction, type Action, type Recorder} from '../step-kit.js';
import {parseImageRef, repositoryName} from '../../engine/image-ref.js';
import {appendRelease, readReleases, setLabel, type ReleaseRecord} from '../stabilise/releases.js';
import {formatMs} from '../duration.js';
import {failures, type ErrorBaseline, type VerifyState} from './run.js';

/**
 * The baseline for this verification: the rates recorded with the last verified release,
 * else those a deploy's preflight measured in the window before that deploy.
 */
export async function lastBaseline(releasesFile: string): Promise<ErrorBaseline | null> {
	const records = await readReleases(releasesFile);
	const last = records.findLast(r => r.event === 'verified' && r.errorBaseline) ?? records.findLast(r => r.event === 'preflight' && r.errorBaseline);
	return last?.errorBaseline ? {perMinute: last.errorBaseline.perMinute, tag: last.tag, time: last.time} : null;
}

export interface RecordOptions {
	releasesFile: string;
	operator: ReleaseRecord['operator'];
	incident: string | null;
	/** The Database step's reader of the migration head; absent (null recorded) until it exists. */
	migrationHead?: (() => Promise<string | null>) | null;
	now?: () => number;
}

/** The checks as the timeline keeps them. */
const checksData = (state: VerifyState) => state.checks.map(c => ({id: c.id, kind: c.kind, title: c.title, status: c.status, detail: c.detail, reason: c.reason}));

/** Records the run's start (step 6 in progress). */
export async function recordStart(record: Recorder, state: VerifyState): Promise<void> {
	await recordStatus(record, 'verify', 'in-progress');
	await record('verify', 'verify_start', {
		runId: state.runId,
		windowMs: state.windowMs,
		releaseServices: state.releaseServices,
		checks: state.checks.map(c => c.id),
	});
}

/**
 * Records the outcome: every check, then on a pass the release as verified (one action,
 * through the step kit) and step 6 done; on a fail step 6 failed with the reasons, and
 * nothing else written.
 */
export async function recordOutcome(record: Recorder, state: VerifyState, options: RecordOptions): Promise<{recorded: ReleaseRecord | null}> {
	const now = options.now ?? Date.now;
	const reasons = failures(state);
	const errorRates = Object.fromEntries(state.errors.map(e => [e.service, {rate: Number(e.rate.toFixed(3)), count: e.count, baseline: e.baseline, limit: Number(e.limit.toFixed(3))}]));
	let recorded: ReleaseRecord | null = null;
	const digests: Record<string, string | null> = {};
	const imageIds: Record<string, string | null> = {};
	const images: Record<string, {repository: string; tag: string | null}> = {};
	for (const s of state.services.filter(s => state.releaseServices.includes(s.service))) {
		digests[s.service] = s.image.digest;
		imageIds[s.service] = s.image.id;
		const reference = s.image.configured;
		if (reference) images[s.service] = {repository: repositoryName(parseImageRef(reference)), tag: s.image.tag};
	}
	// Services whose tags disagree (each names its own image) are known by their digests, as Stabilise names them.
	const known = Object.values(digests);
	const tag = state.tag ?? (known.length > 0 && known.every(Boolean) ? setLabel(digests as Record<string, string>) : null);
	if (state.verified && tag) {
		const action: Action = {
			id: `record-verified:${tag}`,
			title: `record ${tag} as verified (the next rollback's last known good)`,
			does: [`append {"event":"verified","tag":"${tag}",…} to ${options.releasesFile}`],
			touches: [options.releasesFile],
			deletes: [],
			destructive: false,
			confirmation: confirmationFor(false, tag),
		};
		await runAction(record, 'verify', action, async () => {
			const migrationHead = options.migrationHead ? await options.migrationHead().catch(() => null) : null;
			recorded = {
				time: new Date(now()).toISOString(),
				event: 'verified',
				tag,
				digests,
				imageIds,
				images,
				migrationHead,
				operator: options.operator,
				incident: options.incident,
				errorBaseline: {perMinute: Object.fromEntries(state.errors.map(e => [e.service, Number(e.rate.toFixed(3))])), windowMs: state.windowMs},
			};
			await mkdir(dirname(options.releasesFile), {recursive: true, mode: 0o700});
			await appendRelease(options.releasesFile, recorded);
			return {ok: true, error: null, data: {tag}};
		});
	}
	const summary = state.verified
		? `${tag ?? 'the release'} verified: ${state.checks.filter(c => c.status === 'pass').length} checks passed over ${formatMs(state.windowMs)}`
		: state.interrupted
			? `stopped before the end: ${reasons.join('; ') || 'nothing failed yet'}`
			: `not verified: ${reasons.join('; ')}`;
	await record('verify', 'verify_complete', {
		runId: state.runId,
		verified: Boolean(state.verified),
		interrupted: state.interrupted,
		tag,
		summary,
		failures: reasons,
		checks: checksData(state),
		errorRates,
		baseline: state.baseline,
		recorded: recorded !== null,
	});
	await recordStatus(record, 'verify', state.verified ? 'done' : 'failed', summary);
	return {recorded};
}
