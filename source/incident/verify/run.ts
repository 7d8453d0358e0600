// Step 6's checks, run together: services (running, healthy, not crash-looping over the
// window), the health URLs (retried, stopping at the first pass), the smoke checks and
// flows, and each release service's error rate against its baseline. It reads only: the
// outcome is recorded by record.ts. The console and `verify` both run this, and both see
// the same state through `onState`.
import type {ContainerInfo, Engine, ImageInfo, LogLine} from '../../engine/types.js';
import type {HealthProbe, HealthTarget} from '../health.js';
import {buildServiceStatus, type ServiceStatus} from '../service-status.js';
import type {LoadedProject} from '../status.js';
import {formatMs} from '../duration.js';
import {errorMatcher, ratePerMinute} from './error-lines.js';
import {verifyTargets, type VerifyTarget} from './health-urls.js';
import {runSmoke, type SendHttp, type SmokeResult} from './smoke.js';
import {fill} from './templates.js';

export type CheckStatus = 'waiting' | 'running' | 'pass' | 'fail' | 'skipped';

/** One row of the Verify step: what is checked, where it stands, and why it failed. */
export interface CheckRow {
	id: string;
	kind: 'services' | 'health' | 'smoke' | 'errors';
	title: string;
	status: CheckStatus;
	/** The live figure: "try 3 of 12: connection refused", "0.4/min (limit 2.0/min)". */
	detail: string;
	/** Why it failed, one line; null unless it did. */
	reason: string | null;
}

/** The error rate the last verified release ran with, per release service (lines per minute). */
export interface ErrorBaseline {
	perMinute: Record<string, number>;
	tag: string;
	time: string;
}

export interface ErrorSeries {
	service: string;
	/** Error lines per minute in each bucket of the window so far, oldest first. */
	buckets: number[];
	bucketMs: number;
	count: number;
	/** Over the measured span so far. */
	rate: number;
	baseline: number | null;
	/** What the rate must stay at or under: baseline × factor, at least the minimum rate. */
	limit: number;
}

export interface VerifyState {
	runId: string;
	startedAt: number;
	/** When the release services' containers were created: the rollback (or deploy). */
	since: number;
	/** When the watched window ends (now, with --no-wait). */
	windowEndsAt: number;
	windowMs: number;
	/** The check being worked on, in words: "health: try 3 of 12", "watching errors: 4m left". */
	phase: string;
	checks: CheckRow[];
	errors: ErrorSeries[];
	services: ServiceStatus[];
	releaseServices: string[];
	/** The release tag the release services run, when they agree on one. */
	tag: string | null;
	baseline: ErrorBaseline | null;
	smoke: SmokeResult[];
	health: Array<{url: string; tries: number; last: HealthProbe | null}>;
	finished: boolean;
	verified: boolean | null;
	interrupted: boolean;
	/** The release recorded `verified` in releases.jsonl after a pass (its tag, or its set label); null until then. */
	recorded: string | null;
}

export interface VerifyOutside {
	engine: Engine;
	/** A container's log from `sinceMs` on (or whole), timestamped, not following. */
	containerLog(id: string, signal: AbortSignal, sinceMs?: number): AsyncIterable<LogLine[]>;
	probe(target: HealthTarget, signal: AbortSignal): Promise<HealthProbe>;
	http: SendHttp;
	env: NodeJS.ProcessEnv;
	now?: () => number;
}

export interface VerifyOptions {
	loaded: LoadedProject;
	/** The error-rate and crash window (settings' verify.window, or --window). */
	windowMs: number;
	/** False (--no-wait): judge what there is now instead of waiting for the window to end. */
	wait: boolean;
	baseline: ErrorBaseline | null;
	runId: string;
	/** How often services and errors are looked at while waiting (default 2 s). */
	sampleMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
	new Promise<void>(resolve => {
		if (signal.aborted || ms <= 0) return resolve();
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal.removeEventListener('abort', done);
			resolve();
		}
		signal.addEventListener('abort', done, {once: true});
	});

/** The services whose logs and tag speak for the release: configured, else every service. */
export function releaseServicesOf(loaded: LoadedProject): string[] {
	const configured = loaded.settings.release.services;
	const all = Object.keys(loaded.config.services).sort();
	return configured ? configured.filter(s => all.includes(s)) : all;
}

function serviceProblem(s: ServiceStatus): string {
	if (s.crashLoop) return `${s.service}: crash-looping, ${s.crashLoop.reason}`;
	if (s.state === 'missing') return `${s.service}: no container`;
	if (s.state !== 'running') return `${s.service}: ${s.state}${s.exitCode !== null ? ` (exit ${s.exitCode})` : ''}`;
	return `${s.service}: ${s.health}`;
}

/** Runs every check; resolves with the final state. Never throws for a failing check; stops early when `signal` aborts. */
export async function runVerify(outside: VerifyOutside, options: VerifyOptions, onState: (state: VerifyState) => void, signal: AbortSignal): Promise<VerifyState> {
	const now = outside.now ?? Date.now;
	const {loaded, windowMs} = options;
	const sampleMs = options.sampleMs ?? 2000;
	const settings = loaded.settings;
	const targets: VerifyTarget[] = verifyTargets(settings.health, loaded.config);
	const releaseServices = releaseServicesOf(loaded);
	const isError = errorMatcher(settings.verify.errorPatterns);
	const images = new Map<string, ImageInfo>();
	const startedAt = now();

	const state: VerifyState = {
		runId: options.runId,
		startedAt,
		since: startedAt,
		windowEndsAt: startedAt,
		windowMs,
		phase: 'reading the services',
		checks: [
			{id: 'services', kind: 'services', title: 'services running, healthy, not crash-looping', status: 'running', detail: '', reason: null},
			...(targets.length === 0
				? [{id: 'health', kind: 'health' as const, title: 'health URLs', status: 'skipped' as const, detail: 'none configured, and no curl/wget URL in the healthchecks', reason: null}]
				: targets.map(t => ({id: `health:${t.url}`, kind: 'health' as const, title: `health ${t.url}`, status: 'waiting' as const, detail: t.from === 'configured' ? '' : `from ${t.from}`, reason: null}))),
			...settings.smoke.map(entry => {
				const name = entry.kind === 'flow' ? entry.name : entry.check.name;
				return {id: `smoke:${name}`, kind: 'smoke' as const, title: entry.kind === 'flow' ? `flow ${name}` : `smoke ${name}`, status: 'waiting' as const, detail: '', reason: null};
			}),
			...releaseServices.map(service => ({id: `errors:${service}`, kind: 'errors' as const, title: `error rate ${service}`, status: 'waiting' as const, detail: '', reason: null})),
		],
		errors: [],
		services: [],
		releaseServices,
		tag: null,
		baseline: options.baseline,
		smoke: [],
		health: targets.map(t => ({url: t.url, tries: 0, last: null})),
		finished: false,
		verified: null,
		interrupted: false,
		recorded: null,
	};
	const emit = () => onState({...state, checks: state.checks.map(c => ({...c})), errors: [...state.errors]});
	const row = (id: string) => state.checks.find(c => c.id === id)!;
	const set = (id: string, change: Partial<CheckRow>) => {
		Object.assign(row(id), change);
		emit();
	};

	// ---- services: sampled until the end; a crash loop seen at any time fails the check
	let containers: ContainerInfo[] = [];
	let loopSeen: string | null = null;
	const sampleServices = async () => {
		const [list, events] = await Promise.all([
			outside.engine.projectContainers(loaded.name),
			outside.engine.recentEvents ? outside.engine.recentEvents(loaded.name, windowMs, signal).catch(() => []) : Promise.resolve([]),
		]);
		containers = list;
		await Promise.all(
			[...new Set(list.map(c => c.imageId))].filter(id => !images.has(id)).map(async id => {
				const info = await outside.engine.image(id);
				if (info) images.set(id, info);
			}),
		);
		state.services = buildServiceStatus(loaded.config, list, images, now(), {events, windowMs});
		const looping = state.services.find(s => s.crashLoop);
		if (looping) loopSeen ??= serviceProblem(looping);
		const failing = state.services.filter(s => !s.ok);
		set('services', {
			detail: failing.length === 0 ? `all ${state.services.length} running${loopSeen ? `; earlier ${loopSeen}` : ''}` : failing.map(serviceProblem).join('; '),
		});
	};

	// ---- error rate: each release container's log since the rollback, within the window
	const bucketMs = Math.max(1000, Math.round(windowMs / 12));
	const sampleErrors = async () => {
		const end = now();
		const from = Math.max(state.since, end - windowMs);
		const series: ErrorSeries[] = [];
		for (const service of releaseServices) {
			const times: number[] = [];
			for (const c of containers.filter(c => c.service === service)) {
				try {
					for await (const batch of outside.containerLog(c.id, signal, from)) {
						for (const line of batch) {
							if (line.marker || !line.time) continue;
							const time = Date.parse(line.time);
							if (time >= from && time <= end && isError(line.text)) times.push(time);
						}
					}
				} catch {
					if (signal.aborted) return;
					// Removed while read: its lines are gone with it.
				}
			}
			const buckets = Array.from({length: Math.max(1, Math.ceil((end - from) / bucketMs))}, () => 0);
			for (const t of times) buckets[Math.min(buckets.length - 1, Math.floor((t - from) / bucketMs))]! += 60_000 / bucketMs;
			const baseline = options.baseline?.perMinute[service] ?? null;
			const limit = Math.max(settings.verify.minErrorRate, baseline === null ? 0 : baseline * settings.verify.errorFactor);
			const rate = ratePerMinute(times.length, end - from);
			series.push({service, buckets, bucketMs, count: times.length, rate, baseline, limit});
			set(`errors:${service}`, {
				status: row(`errors:${service}`).status === 'waiting' ? 'running' : row(`errors:${service}`).status,
				detail: `${rate.toFixed(1)}/min (${times.length} in ${formatMs(Math.round((end - from) / 1000) * 1000)}; ${baseline === null ? 'no baseline recorded' : `baseline ${baseline.toFixed(1)}/min`}, limit ${limit.toFixed(1)}/min)`,
			});
		}
		state.errors = series;
		emit();
	};

	try {
		await sampleServices();
	} catch (error) {
		set('services', {status: 'fail', reason: `the Engine did not answer: ${error instanceof Error ? error.message : String(error)}`});
		state.finished = true;
		state.verified = false;
		emit();
		return state;
	}
	const mine = containers.filter(c => releaseServices.includes(c.service));
	const created = mine.map(c => Date.parse(c.createdAt)).filter(t => Number.isFinite(t));
	state.since = created.length > 0 ? Math.max(...created) : startedAt;
	state.windowEndsAt = options.wait ? Math.max(startedAt, state.since + windowMs) : startedAt;
	const tags = new Set(state.services.filter(s => releaseServices.includes(s.service)).map(s => s.image.tag));
	state.tag = tags.size === 1 ? ([...tags][0] ?? null) : null;
	emit();

	// The sampler runs beside the health and smoke checks, until the window is over.
	const done = new AbortController();
	const stop = () => done.abort();
	signal.addEventListener('abort', stop, {once: true});
	const sampler = (async () => {
		let lastErrors = 0;
		while (!done.signal.aborted) {
			await sleep(sampleMs, done.signal);
			if (done.signal.aborted) break;
			try {
				await sampleServices();
				if (now() - lastErrors >= Math.max(sampleMs, 5000)) {
					lastErrors = now();
					await sampleErrors();
				}
			} catch {
				// One missed sample; the next one, or the final one, speaks.
			}
			if (options.wait && now() < state.windowEndsAt) {
				state.phase = `watching restarts and errors: ${formatMs(Math.ceil((state.windowEndsAt - now()) / 1000) * 1000)} left of the ${formatMs(windowMs)} window`;
				emit();
			}
		}
	})();

	// ---- health URLs: all at once, each retried until its first pass
	const {tries, intervalMs} = settings.verify.health;
	await Promise.all(
		targets.map(async (target, i) => {
			const id = `health:${target.url}`;
			set(id, {status: 'running'});
			// The operator's token comes from their environment; a missing one is named, not sent blank.
			const headers: Record<string, string> = {};
			const missing: string[] = [];
			for (const [name, value] of Object.entries(target.headers)) {
				const filled = fill(value, outside.env, {});
				missing.push(...filled.missing.map(v => `header ${name} needs $${v}`));
				headers[name] = filled.value;
			}
			if (missing.length > 0) {
				set(id, {status: 'fail', reason: `${target.url}: ${missing.join('; ')}, which is not set in this environment (not sent)`});
				return;
			}
			for (let attempt = 1; attempt <= tries && !signal.aborted; attempt++) {
				state.phase = `health ${target.url}: try ${attempt} of ${tries}`;
				const probe = await outside.probe({...target, headers}, signal);
				state.health[i] = {url: target.url, tries: attempt, last: probe};
				if (signal.aborted) break;
				if (probe.ok) {
					set(id, {status: 'pass', detail: `${probe.status} in ${probe.latencyMs} ms (try ${attempt} of ${tries})`});
					return;
				}
				const left = attempt < tries ? `; next in ${formatMs(intervalMs)}` : '';
				set(id, {detail: `try ${attempt} of ${tries}: ${probe.error ?? 'failed'}${left}`});
				if (attempt < tries) await sleep(intervalMs, signal);
			}
			const last = state.health[i]!.last;
			set(id, {
				status: 'fail',
				reason: signal.aborted
					? `${target.url}: stopped after ${state.health[i]!.tries} of ${tries} tries`
					: `${target.url}: failed ${tries} ${tries === 1 ? 'try' : 'tries'} ${intervalMs > 0 && tries > 1 ? `${formatMs(intervalMs)} apart ` : ''}(last: ${last?.error ?? 'failed'})`,
			});
		}),
	);

	// ---- smoke checks and flows, one after another (a flow's steps depend on each other)
	for (const entry of settings.smoke) {
		if (signal.aborted) break;
		const name = entry.kind === 'flow' ? entry.name : entry.check.name;
		state.phase = `smoke ${name}`;
		set(`smoke:${name}`, {status: 'running'});
		const result = await runSmoke(entry, {
			http: outside.http,
			env: outside.env,
			runId: options.runId,
			signal,
			onStep: step => set(`smoke:${name}`, {detail: `${step.cleanup ? 'cleanup ' : ''}${step.name}: ${step.ok ? (step.status ?? 'ok') : step.reason}`}),
		});
		state.smoke.push(result);
		const passed = result.steps.filter(s => s.ok && !s.cleanup).length;
		set(`smoke:${name}`, {
			status: result.ok ? 'pass' : 'fail',
			detail: entry.kind === 'flow' ? `${passed} of ${entry.steps.length} steps passed${entry.cleanup.length > 0 ? `, cleanup ran` : ''}` : `${result.steps[0]?.status ?? '-'} in ${result.steps[0]?.latencyMs ?? 0} ms`,
			reason: result.reason,
		});
	}

	// ---- the rest of the window
	while (options.wait && !signal.aborted && now() < state.windowEndsAt) {
		state.phase = `watching restarts and errors: ${formatMs(Math.ceil((state.windowEndsAt - now()) / 1000) * 1000)} left of the ${formatMs(windowMs)} window`;
		emit();
		await sleep(Math.min(1000, state.windowEndsAt - now()), signal);
	}
	done.abort();
	signal.removeEventListener('abort', stop);
	await sampler;

	// ---- the verdict, from one last look
	state.interrupted = signal.aborted;
	state.phase = 'judging';
	if (!state.interrupted) {
		try {
			await sampleServices();
			await sampleErrors();
		} catch (error) {
			set('services', {status: 'fail', reason: `the Engine did not answer: ${error instanceof Error ? error.message : String(error)}`});
		}
	}
	const services = row('services');
	if (services.status === 'running') {
		const failing = state.services.filter(s => !s.ok);
		if (failing.length > 0) set('services', {status: 'fail', reason: failing.map(serviceProblem).join('; ')});
		else if (loopSeen) set('services', {status: 'fail', reason: `${loopSeen} (within the ${formatMs(windowMs)} window)`});
		else if (state.services.length === 0) set('services', {status: 'fail', reason: 'the project has no services'});
		else set('services', {status: 'pass'});
	}
	for (const series of state.errors) {
		const id = `errors:${series.service}`;
		if (series.rate <= series.limit) set(id, {status: 'pass'});
		else {
			set(id, {
				status: 'fail',
				reason: `${series.service}: ${series.rate.toFixed(1)} error lines/min, over ${series.baseline === null ? `the ${series.limit.toFixed(1)}/min allowed without a baseline` : `${settings.verify.errorFactor}× its baseline ${series.baseline.toFixed(1)}/min (limit ${series.limit.toFixed(1)}/min)`}`,
			});
		}
	}
	for (const check of state.checks) {
		if (check.status === 'waiting' || check.status === 'running') {
			check.status = 'fail';
			check.reason ??= `${check.title}: stopped before it finished`;
		}
	}
	state.finished = true;
	state.verified = !state.interrupted && state.checks.every(c => c.status === 'pass' || c.status === 'skipped');
	state.phase = state.verified ? 'verified' : state.interrupted ? 'stopped' : 'not verified';
	emit();
	return state;
}

/** The failing checks, one line each. */
export const failures = (state: Pick<VerifyState, 'checks'>): string[] => state.checks.filter(c => c.status === 'fail').map(c => c.reason ?? c.title);
