import {rm, stat} from 'node:fs/promises';
import {join} from 'node:path';
import type {ComposeCommands, ComposeProject, ComposeRun, ComposeService, ContainerInfo, Engine} from '../../engine/types.js';
import {writeFileAtomic} from '../atomic-file.js';
import {readTextOrNull, replaceWithBackup, setEnvValue} from './env-file.js';
import {digestFor} from '../../engine/image-ref.js';
import {recordStepStatus} from '../incident-store.js';
import {handOver, holderFor, isSelf, judge, readLock, releaseLock, type LockHolder} from '../project-lock.js';
import {appendRelease, appendReleases, readReleases, type ReleaseEvent, type ReleaseRecord} from './releases.js';
import type {RollbackPlan} from './plan.js';
import {containerOk} from '../service-status.js';
import {Timeline} from '../timeline.js';
import {formatMs} from '../duration.js';
import {projectFiles} from '../layout.js';
import {waitConditions, waitForServices, watchProject, type ServiceCondition, type WaitOutcome} from './service-wait.js';

/**
 * What the detached worker does with a confirmed plan: pull, make it durable, up, check that
 * every release service runs the target, record. No retries and no second rollback: on
 * failure it records compose's message and the failing service's last 50 log lines and
 * leaves the stack as it is.
 */

export interface WorkerJob {
	version: 1;
	runId: string;
	plan: RollbackPlan;
	timelineFile: string;
	/** `<state>/<project>`: the lock and releases.jsonl. */
	projectDir: string;
	incident: string | null;
	/** Who confirmed it: the worker acts (and locks) on their behalf. */
	operator: {user: string; sshConnection: string | null; host: string};
	/** The lock the launcher held; the worker takes it over from it. */
	lockFrom: Pick<LockHolder, 'pid' | 'processStart'>;
	/** A console that is still open gets the lock back at the end. */
	returnLockTo: LockHolder | null;
}

export interface WorkerPaths {
	dir: string;
	job: string;
	/** Everything compose printed, and the worker's own progress lines. */
	output: string;
	/** The worker process's stderr: empty unless it crashed. */
	errors: string;
	result: string;
}

export const workerPaths = (workerDir: string, runId: string): WorkerPaths => {
	const dir = join(workerDir, runId);
	return {dir, job: join(dir, 'job.json'), output: join(dir, 'output.log'), errors: join(dir, 'errors.log'), result: join(dir, 'result.json')};
};

export interface ServiceCheck {
	service: string;
	ok: boolean;
	expectedImageId: string | null;
	imageIds: string[];
	states: string[];
	problem: string | null;
}

export interface WorkerResult {
	runId: string;
	kind: RollbackPlan['kind'];
	success: boolean;
	/** Milliseconds from the worker's start to the end. */
	duration: number;
	from: string | null;
	to: string;
	message: string | null;
	failedCommand: string | null;
	failedService: string | null;
	logs: string[];
	checks: ServiceCheck[];
	durable: {file: string | null; backup: string | null};
	finishedAt: string;
}

export interface WorkerOutside {
	compose: ComposeCommands;
	/** Called once the commands run: loading the engine client must not delay the pull. */
	engine: () => Promise<Engine>;
	/** The pull, already started by the worker's entry before it loaded this module (its lines already written). */
	startedPull?: Promise<ComposeRun>;
	/** The database's migration head once the release runs (the Database step), for releases.jsonl. */
	migrationHead?: () => Promise<string | null>;
	/** Called as the wait begins: loads what the checks after it need (the migration head's reader) while nothing else runs. */
	warm?: () => void;
	/** The project's services as `compose config` lists them once `up` ran: what the wait waits for (plans made before it named them). */
	projectServices?: () => Promise<Record<string, Pick<ComposeService, 'dependsOn'>>>;
}

/** The worker's first lines: what it does, then the pull's command line. */
export const workerHeader = (plan: RollbackPlan, pid: number) => `» ${plan.kind} ${plan.project.name}: ${plan.from.tag ?? '-'} → ${plan.to.tag} (worker pid ${pid})\n`;

const LOG_LINES = 50;

/** The variables a plan sets (plans written before the release shapes name one tag variable). */
export const assignmentsOf = (plan: RollbackPlan): Record<string, string> => plan.assignments ?? (plan.variable ? {[plan.variable]: plan.value} : {});

/** The first error line compose printed, in its own words. */
export function composeMessage(run: ComposeRun): string {
	const lines = `${run.stderr}\n${run.stdout}`
		.split('\n')
		.map(l => l.trim())
		.filter(Boolean);
	const error = lines.findLast(l => /error|unhealthy|exited|failed|denied|not found|manifest unknown|no such|refused|timeout/i.test(l));
	return error ?? lines.at(-1) ?? `exit code ${run.exitCode}`;
}

/** The service a compose message names (`container shop-web-1 is unhealthy`), if any. */
export function serviceInMessage(message: string, project: string, services: readonly string[]): string | null {
	for (const service of services) {
		if (message.includes(`${project}-${service}-`) || message.includes(`${project}_${service}_`) || new RegExp(`\\b${service}\\b`).test(message)) {
			return service;
		}
	}
	return null;
}

/**
 * Whether every release service runs the target image and is up (healthy where it has a
 * healthcheck), with the repo digest each runs. The lookups run side by side: this is
 * between `up` returning and the operator hearing the result.
 */
async function verify(
	engine: Engine,
	plan: RollbackPlan,
	seen: ContainerInfo[] | null,
): Promise<{checks: ServiceCheck[]; digests: Record<string, string | null>}> {
	const references = [...new Set(plan.services.map(s => s.to.reference))];
	const [containers, targets] = await Promise.all([
		// The wait's last look, when it just found every service ready: no second listing.
		seen ?? engine.projectContainers(plan.project.name),
		Promise.all(references.map(async reference => [reference, await engine.image(reference)] as const)).then(pairs => new Map(pairs)),
	]);
	const digests: Record<string, string | null> = {};
	const checks = plan.services.map(s => {
		const target = targets.get(s.to.reference) ?? null;
		const expected = target?.id ?? null;
		const mine = containers.filter(c => c.service === s.service);
		const imageIds = [...new Set(mine.map(c => c.imageId))];
		const states = mine.map(c => (c.health === 'none' ? c.state : `${c.state} (${c.health})`));
		let problem: string | null = null;
		if (mine.length === 0) problem = 'no container';
		else if (!expected) problem = `${s.to.reference} is not on this box`;
		else if (imageIds.some(id => id !== expected)) problem = `runs ${imageIds.map(id => id.slice(7, 19)).join(', ')}, not ${expected.slice(7, 19)}`;
		else if (!mine.every(containerOk)) problem = states.join(', ');
		digests[s.service] = target ? (digestFor(s.to.reference, target.repoDigests) ?? s.to.digest) : s.to.digest;
		return {service: s.service, ok: problem === null, expectedImageId: expected, imageIds, states, problem};
	});
	return {checks, digests};
}

/** Runs the job to the end; never throws for a failed rollback (that is a result). */
export async function runWorker(job: WorkerJob, outside: WorkerOutside, write: (text: string) => void, now = Date.now): Promise<WorkerResult> {
	const started = now();
	const {plan} = job;
	const kind = plan.kind;
	const step = kind === 'rollback' ? 'stabilise' : null;
	const me = holderFor(job.operator, `${kind} to ${plan.to.tag} (worker)`);
	// The launcher handed the lock over already unless it died first; then we take it here.
	await handOver(job.projectDir, job.lockFrom, me).catch(() => false);
	const timeline = await Timeline.open(job.timelineFile, {operator: {user: job.operator.user, sshConnection: job.operator.sshConnection, pid: process.pid}, now});
	const releases = projectFiles(job.projectDir).releases;
	const operator = {user: job.operator.user, ssh: job.operator.sshConnection, pid: process.pid};
	const entry = (event: ReleaseEvent, tag: string, digests: Record<string, string | null>, imageIds: Record<string, string | null>): ReleaseRecord => ({
		time: new Date(now()).toISOString(),
		event,
		tag,
		digests,
		imageIds,
		// The set, per service: its repository and tag (the digest is above).
		images: Object.fromEntries(
			plan.services.map(s => [s.service, {repository: s.repository, tag: event === 'seen' || event === 'rolled_back' ? s.from.tag : s.to.tag}]),
		),
		migrationHead: null,
		operator,
		incident: job.incident,
	});
	const record = (...args: Parameters<typeof entry>) => appendRelease(releases, entry(...args));

	await timeline.append(step, `${kind}_start`, {
		runId: job.runId,
		from: plan.from.tag,
		to: plan.to.tag,
		pinned: plan.to.pinned,
		worker: process.pid,
		services: plan.services.map(s => ({service: s.service, from: s.from, to: s.to})),
	});
	if (!outside.startedPull) write(workerHeader(plan, process.pid));

	const result: WorkerResult = {
		runId: job.runId,
		kind,
		success: false,
		duration: 0,
		from: plan.from.tag,
		to: plan.to.tag,
		message: null,
		failedCommand: null,
		failedService: null,
		logs: [],
		checks: [],
		durable: {file: null, backup: null},
		finishedAt: '',
	};
	const project: ComposeProject = {workingDir: plan.project.workingDir, files: plan.project.files, name: plan.project.name};
	const [pull, up] = plan.commands;
	try {
		// The release running now, as seen before it is replaced.
		const seen = await readReleases(releases);
		const fromTag = plan.from.tag;
		if (fromTag && !fromTag.includes('+')) {
			const digests = Object.fromEntries(plan.services.map(s => [s.service, s.from.digest]));
			const known = seen.some(r => r.tag === fromTag && JSON.stringify(r.digests) === JSON.stringify(digests));
			if (!known) await record('seen', fromTag, digests, Object.fromEntries(plan.services.map(s => [s.service, s.from.imageId])));
		}

		// Timeline appends go in order, but nothing waits on them until the end: each fsync
		// would otherwise add to the time the stack spends between releases.
		const recording: Array<Promise<unknown>> = [];
		const note = (type: string, data: Record<string, unknown>) => {
			const appending = timeline.append(step, type, {runId: job.runId, ...data});
			appending.catch(() => {});
			recording.push(appending);
		};
		const run = async (command: NonNullable<typeof pull>, started?: Promise<ComposeRun>) => {
			if (!started) write(`» ${command.display}\n`);
			const timeout = command.timeoutMs ? {signal: AbortSignal.timeout(command.timeoutMs)} : {};
			const began = Date.now();
			const done = await (started ?? outside.compose.stream(project, command.args, {env: command.env, ...timeout, onOutput: (_stream, chunk) => write(chunk)})).catch(
				(error: unknown) => {
					// Stopped at its timeout (the child was killed): a failed run like any other, said below.
					if ((error as Error)?.name !== 'AbortError' || !command.timeoutMs) throw error;
					return {argv: command.argv, exitCode: 124, stdout: '', stderr: '', ms: Math.max(command.timeoutMs, Date.now() - began)} as ComposeRun;
				},
			);
			note('command', {argv: command.argv, env: command.env, exit: done.exitCode, ms: done.ms});
			write(`» exit ${done.exitCode} after ${(done.ms / 1000).toFixed(1)} s\n`);
			return done;
		};

		// Durable before `up`: should the worker die during it, a plain `up` still brings the target.
		// Literal tags go first: compose pulls what the files name.
		const persist = async () => {
			if (plan.durable.persist === 'none' || !plan.durable.file) return;
			const file = plan.durable.file;
			const now_ = (await readTextOrNull(file)) ?? '';
			let text: string;
			if (plan.durable.persist === 'env') {
				text = now_;
				for (const [key, value] of Object.entries(assignmentsOf(plan))) text = setEnvValue(text, key, value);
			} else if (plan.durable.persist === 'compose') {
				// Someone edited it since the plan was shown: their change is not ours to overwrite.
				if (now_ !== plan.durable.before) throw new Error(`${file} changed since the plan was made; nothing was written (plan again)`);
				text = plan.durable.after ?? now_;
			} else text = plan.durable.after ?? '';
			const persisted = await replaceWithBackup(file, text, now());
			result.durable = persisted;
			note('durable_change', {persist: plan.durable.persist, file, backup: persisted.backup, diff: plan.durable.diff});
			write(`» wrote ${file}${persisted.backup ? ` (previous kept as ${persisted.backup})` : ''}\n`);
		};
		const restore = async () => {
			// The pull failed after a literal pin was written: the file goes back to what it was.
			if (!plan.durable.beforePull || !result.durable.file) return;
			// An override we created just now goes away again; anything else gets its text back.
			if (plan.durable.before === null) await rm(result.durable.file, {force: true});
			else {
				const {mode} = await stat(result.durable.file);
				await writeFileAtomic(result.durable.file, plan.durable.before, {mode: mode & 0o777});
			}
			note('durable_restored', {file: result.durable.file});
			write(`» put ${result.durable.file} back as it was (the pull failed)\n`);
		};
		if (plan.durable.beforePull) await persist();

		if (pull) {
			if (pull.skip) {
				write(`» skipped: ${pull.display}\n  (${pull.skip})\n`);
				note('command', {argv: pull.argv, env: pull.env, skipped: pull.skip});
			} else {
				const done = await run(pull, outside.startedPull);
				if (done.exitCode !== 0) {
					result.failedCommand = pull.display;
					const timedOut = pull.timeoutMs !== undefined && done.ms >= pull.timeoutMs - 100;
					result.message = timedOut
						? `pull stopped after ${formatMs(pull.timeoutMs!)} (x-rollback-console.release.pull_timeout): the registry stopped answering mid-pull`
						: `pull failed: ${composeMessage(done)}`;
					await restore();
					return result;
				}
			}
		}

		if (!plan.durable.beforePull) await persist();

		const upRun = run(up!);
		const loading = outside.engine();
		// Followed from as soon as the engine client is there, so the wait hears every event after `up`.
		const watching = up!.wait ? loading.then(engine => watchProject(engine, plan.project.name)).catch(() => null) : null;
		try {
			const done = await upRun;
			const engine = await loading;
			const waited = done.exitCode === 0 && up!.wait ? await waitForUp(engine, plan, up!.wait.timeoutMs, await watching, outside, write) : null;
			const upOk = done.exitCode === 0 && (waited === null || waited.ok);
			// The migration head (a docker exec into the database) is read beside the checks, not after
			// them: it is on the way from the stack being up to the result. Only a success records it.
			const reading = upOk && outside.migrationHead ? outside.migrationHead().catch(() => null) : null;
			const verified = await verify(engine, plan, waited?.ok ? waited.containers : null);
			result.checks = verified.checks;
			note('verify', {checks: result.checks, ...(waited ? {wait: {ok: waited.ok, ms: waited.ms, message: waited.message}} : {})});
			const failing = result.checks.filter(c => !c.ok);
			for (const c of result.checks) write(`» ${c.service}: ${c.ok ? `runs ${plan.to.tag}, ${c.states.join(', ')}` : c.problem}\n`);
			const ids = Object.fromEntries(result.checks.map(c => [c.service, c.imageIds[0] ?? null]));
			if (!upOk) {
				result.failedCommand = up!.display;
				result.message = done.exitCode !== 0 ? composeMessage(done) : waited!.message;
				result.failedService =
					(done.exitCode === 0 ? waited!.service : null) ??
					serviceInMessage(result.message!, plan.project.name, plan.services.map(s => s.service)) ??
					failing[0]?.service ??
					null;
				return result;
			}
			const {digests} = verified;
			if (failing.length > 0) {
				await record('deployed', plan.to.tag, digests, ids);
				result.failedCommand = up!.display;
				result.message = `after up: ${failing.map(c => `${c.service} ${c.problem}`).join('; ')}`;
				result.failedService = failing[0]!.service;
				return result;
			}
			const migrationHead = reading ? await reading : null;
			const outcome = [{...entry('deployed', plan.to.tag, digests, ids), migrationHead}, {...entry('verified', plan.to.tag, digests, ids), migrationHead}];
			if (kind === 'rollback' && fromTag && !fromTag.includes('+')) {
				outcome.push(
					entry(
						'rolled_back',
						fromTag,
						Object.fromEntries(plan.services.map(s => [s.service, s.from.digest])),
						Object.fromEntries(plan.services.map(s => [s.service, s.from.imageId])),
					),
				);
			}
			await Promise.all([appendReleases(releases, outcome), ...recording]);
			result.success = true;
			return result;
		} finally {
			void watching?.then(watch => watch?.stop());
		}
	} catch (error) {
		result.message = `the worker stopped on an error: ${(error as Error)?.message ?? String(error)}`;
		return result;
	} finally {
		await timeline.settled();
		if (!result.success && result.failedService) {
			result.logs = await outside.compose.logTail(project, result.failedService, LOG_LINES, assignmentsOf(plan)).catch(() => []);
		}
		result.duration = now() - started;
		result.finishedAt = new Date(now()).toISOString();
		if (!result.success) {
			await timeline
				.append(step, `${kind}_failure`, {runId: job.runId, command: result.failedCommand, message: result.message, service: result.failedService, logs: result.logs})
				.catch(() => {});
			write(`» FAILED: ${result.message}\n`);
			if (result.failedService) write(`» last ${result.logs.length} log lines of ${result.failedService}:\n${result.logs.map(l => `  ${l}`).join('\n')}\n`);
		}
		await timeline.append(step, `${kind}_complete`, {runId: job.runId, success: result.success, duration: result.duration, message: result.message}).catch(() => {});
		if (step) {
			await recordStepStatus(timeline, step, result.success ? 'done' : 'failed', result.success ? `${kind} to ${plan.to.tag}` : (result.message ?? 'failed')).catch(() => {});
		}
		write(result.success ? `» ${kind} to ${plan.to.tag} complete in ${(result.duration / 1000).toFixed(1)} s\n` : '');
		await finishLock(job, me);
	}
}

/** `up` ran without --wait: waits for what --wait waits for, as compose would judge it. */
async function waitForUp(
	engine: Engine,
	plan: RollbackPlan,
	timeoutMs: number,
	watch: ReturnType<typeof watchProject> | null,
	outside: WorkerOutside,
	write: (text: string) => void,
): Promise<WaitOutcome> {
	write(`» waiting up to ${Math.round(timeoutMs / 1000)} s for every service: running, healthy where it has a healthcheck\n`);
	const planned = plan.commands[1]?.wait?.services;
	const services = planned ? null : await outside.projectServices?.().catch(() => null);
	// Without the project's config: the release services at least (no orphan is mistaken for one).
	const conditions: ReadonlyMap<string, ServiceCondition> = planned
		? new Map(Object.entries(planned))
		: services
			? waitConditions(services)
			: new Map(plan.services.map(s => [s.service, 'running-or-healthy' as const]));
	// The wait is idle time: what the checks after it need is loaded meanwhile.
	outside.warm?.();
	const waited = await waitForServices(engine, plan.project.name, conditions, {timeoutMs, watch});
	write(`» ${waited.ok ? 'every service ready' : waited.message} after ${(waited.ms / 1000).toFixed(1)} s\n`);
	return waited;
}

/** Gives the lock back to the console that started us, if it is still there; else frees it. */
async function finishLock(job: WorkerJob, me: LockHolder): Promise<void> {
	try {
		const current = await readLock(job.projectDir);
		if (!current || !isSelf(current)) return;
		if (job.returnLockTo && judge(job.returnLockTo).state === 'held') {
			await handOver(job.projectDir, me, {...job.returnLockTo});
			return;
		}
		await releaseLock(job.projectDir, me);
	} catch {
		// A lock left behind names a gone process: the next operator sees it as stale.
	}
}

/** Writes the result beside the output (the launcher and a reopened console read it). */
export function writeResult(paths: WorkerPaths, result: WorkerResult): Promise<void> {
	return writeFileAtomic(paths.result, `${JSON.stringify(result, null, 2)}\n`, {mode: 0o600});
}
