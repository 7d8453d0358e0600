// The runbooks' "when to roll back", measured with Verify's own checks instead of only
// asked: health failing and not recovered for more than 5 minutes since the deploy, and the
// error rate significantly above baseline within 10 minutes of it. Each criterion comes with
// its figures; Scope shows them and records them with the decision, which stays the
// operator's.
import type {ImageInfo} from '../../engine/types.js';
import type {HealthProbe} from '../health.js';
import {buildServiceStatus} from '../service-status.js';
import type {LoadedProject} from '../status.js';
import {formatMs} from '../duration.js';
import {errorMatcher, ratePerMinute} from './error-lines.js';
import {verifyTargets} from './health-urls.js';
import {releaseServicesOf, type ErrorBaseline, type VerifyOutside} from './run.js';
import {fill} from './templates.js';

export interface Criterion {
	id: 'health' | 'errors';
	/** True: the runbook says roll back; false: not (yet); null: could not be measured. */
	met: boolean | null;
	/** One line with the figures. */
	text: string;
}

export interface RollbackCriteria {
	/** When the release services' containers were created (the deploy); null when none run. */
	deployAt: string | null;
	criteria: Criterion[];
	/** `rollback` when a criterion is met. */
	suggests: 'rollback' | null;
}

export const healthLimitMs = 5 * 60_000;
export const errorSpanMs = 10 * 60_000;

const ago = (ms: number) => formatMs(Math.max(0, Math.round(ms / 1000)) * 1000);

/** Measures both criteria once (one probe per health URL, each release container's log read once). */
export async function measureCriteria(
	outside: VerifyOutside,
	loaded: LoadedProject,
	options: {baseline: ErrorBaseline | null; signal?: AbortSignal},
): Promise<RollbackCriteria> {
	const now = (outside.now ?? Date.now)();
	const signal = options.signal ?? new AbortController().signal;
	const releaseServices = releaseServicesOf(loaded);
	const containers = (await outside.engine.projectContainers(loaded.name)).filter(c => releaseServices.includes(c.service));
	const created = containers.map(c => Date.parse(c.createdAt)).filter(Number.isFinite);
	const deployAt = created.length > 0 ? Math.max(...created) : null;
	const since = deployAt === null ? null : now - deployAt;

	// Health: the URLs (configured, else from the healthchecks) and the release services themselves.
	const events = outside.engine.recentEvents ? await outside.engine.recentEvents(loaded.name, loaded.settings.status.crashWindowMs, signal).catch(() => []) : [];
	const services = buildServiceStatus(loaded.config, containers, new Map<string, ImageInfo>(), now, {events, windowMs: loaded.settings.status.crashWindowMs}).filter(s =>
		releaseServices.includes(s.service),
	);
	const probes: HealthProbe[] = await Promise.all(
		verifyTargets(loaded.settings.health, loaded.config).map(target =>
			outside.probe({...target, headers: Object.fromEntries(Object.entries(target.headers).map(([k, v]) => [k, fill(v, outside.env, {}).value]))}, signal),
		),
	);
	const failingUrls = probes.filter(p => !p.ok);
	const failingServices = services.filter(s => !s.ok);
	const problems = [...failingUrls.map(p => `${p.url} ${p.error ?? 'failed'}`), ...failingServices.map(s => `${s.service} ${s.crashLoop ? 'crash-looping' : s.state}`)];
	let health: Criterion;
	if (problems.length === 0) {
		health = {id: 'health', met: false, text: `health passing (${probes.length} URL${probes.length === 1 ? '' : 's'}, ${services.length} release services up)`};
	} else if (since === null) {
		health = {id: 'health', met: true, text: `health failing (${problems.join('; ')}) and no release container runs`};
	} else {
		const over = since > healthLimitMs;
		health = {
			id: 'health',
			met: over,
			text: `health failing (${problems.join('; ')}), ${ago(since)} since the deploy: ${over ? 'over' : 'not yet'} ${formatMs(healthLimitMs)}`,
		};
	}

	// Errors: within the first 10 minutes of the deploy, against the baseline.
	let errors: Criterion;
	if (deployAt === null) errors = {id: 'errors', met: null, text: 'error rate: no release container to read'};
	else {
		const isError = errorMatcher(loaded.settings.verify.errorPatterns);
		const end = Math.min(now, deployAt + errorSpanMs);
		const worst: Array<{service: string; rate: number; limit: number; baseline: number | null}> = [];
		for (const service of releaseServices) {
			let count = 0;
			for (const c of containers.filter(c => c.service === service)) {
				try {
					for await (const batch of outside.containerLog(c.id, signal, deployAt)) {
						for (const line of batch) {
							const time = line.time ? Date.parse(line.time) : Number.NaN;
							if (!line.marker && time >= deployAt && time <= end && isError(line.text)) count++;
						}
					}
				} catch {
					// Gone while read.
				}
			}
			const baseline = options.baseline?.perMinute[service] ?? null;
			const limit = Math.max(loaded.settings.verify.minErrorRate, baseline === null ? 0 : baseline * loaded.settings.verify.errorFactor);
			worst.push({service, rate: ratePerMinute(count, end - deployAt), limit, baseline});
		}
		const above = worst.filter(w => w.rate > w.limit);
		const shown = (above.length > 0 ? above : worst).map(w => `${w.service} ${w.rate.toFixed(1)}/min (${w.baseline === null ? 'no baseline' : `baseline ${w.baseline.toFixed(1)}/min`}, limit ${w.limit.toFixed(1)}/min)`);
		errors = {
			id: 'errors',
			met: above.length > 0,
			text: `error rate ${above.length > 0 ? 'above' : 'within'} baseline in the ${ago(end - deployAt)} after the deploy: ${shown.join('; ')}`,
		};
	}
	const criteria = [health, errors];
	return {deployAt: deployAt === null ? null : new Date(deployAt).toISOString(), criteria, suggests: criteria.some(c => c.met) ? 'rollback' : null};
}
