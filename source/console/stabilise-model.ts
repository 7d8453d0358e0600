import {readFile} from 'node:fs/promises';
import type {ComposeProject} from '../engine/types.js';
import {isConsoleError} from '../errors.js';
import type {Operator} from '../incident/operator.js';
import {acquireLock, describeHolder, holderFor, lockState, type LockHolder, type LockState} from '../incident/project-lock.js';
import {followWorker} from '../incident/stabilise/launch.js';
import type {RollbackPlan} from '../incident/stabilise/plan.js';
import {detectRelease, gather, listCandidates, planFrom, type StabiliseOutside} from '../incident/stabilise/prepare.js';
import {releaseLines, releaseSummary} from '../incident/stabilise/release-services.js';
import {latestRun, startRun, type RunSummary} from '../incident/stabilise/runs.js';
import type {RunView, StabiliseModel, StabilisePrepared} from '../ui/stabilise-model.js';
import {connectStabilise} from './connect-stabilise.js';

/** The console's hold on the project lock, shared with the model (read-only follows it). */
export interface ConsoleLock {
	held: LockHolder | null;
}

/** Why a console that could not take the lock is read-only. */
export function lockReason(state: LockState): string | null {
	if (state.state === 'held') return `locked by ${describeHolder(state.holder)}`;
	if (state.state === 'stale') return `stale lock (${state.reason}) of ${describeHolder(state.holder)}: take it over in Stabilise (t)`;
	return null;
}

const outputTail = 400;

async function readOutput(file: string): Promise<string> {
	try {
		return (await readFile(file, 'utf8')).split('\n').slice(-outputTail).join('\n');
	} catch {
		return '';
	}
}

function view(run: RunSummary, output: string): RunView {
	const plan = run.job?.plan;
	return {
		runId: run.runId,
		kind: plan?.kind ?? (run.runId.includes('-deploy-') ? 'deploy' : 'rollback'),
		from: plan?.from.tag ?? run.result?.from ?? null,
		to: plan?.to.tag ?? run.result?.to ?? '?',
		running: run.running,
		pid: run.pid,
		output,
		result: run.result,
	};
}

export interface StabiliseContext {
	project: ComposeProject;
	stateDir: string;
	projectDir: string;
	operator: Operator;
	incidentDir: string;
	lock: ConsoleLock;
	/** The console's lock changed: read-only follows it. */
	onLock(held: boolean, reason: string | null): void;
}

/** The Stabilise step's model over the real engine, compose, registry and state dir. */
export function createStabiliseModel(ctx: StabiliseContext): StabiliseModel {
	let outside: StabiliseOutside | undefined;
	const connected = () => (outside ??= connectStabilise());

	const prepare = async (to: string | null): Promise<StabilisePrepared> => {
		const lock = await lockState(ctx.projectDir);
		const gathered = await gather(connected(), ctx.project, ctx.stateDir);
		const [{candidates, registryError}, planned] = await Promise.all([
			listCandidates(connected(), gathered, {limit: 12}),
			planFrom(connected(), gathered, {kind: 'rollback', to}).then(
				plan => ({plan, error: null}),
				(error: unknown) => {
					if (!isConsoleError(error)) throw error;
					return {plan: null, error: error.message};
				},
			),
		]);
		return {
			...planned,
			candidates,
			current: gathered.currentTag,
			lastKnownGood: candidates.find(c => c.lastKnownGood)?.tag ?? null,
			registryProblem: registryError?.message ?? null,
			lock,
			release: {shape: gathered.release.shape, lines: releaseLines(gathered.release), error: null},
		};
	};

	const find = async (runId?: string): Promise<RunSummary | null> => {
		const run = await latestRun(ctx.projectDir);
		return run && (!runId || run.runId === runId) ? run : null;
	};

	return {
		prepare,
		async start(plan: RollbackPlan) {
			// Ours, and not lent to a worker that still runs.
			const state = await lockState(ctx.projectDir);
			if (!ctx.lock.held || state.state !== 'mine') {
				throw new Error(state.state === 'free' || state.state === 'mine' ? 'this console does not hold the project lock (read-only)' : `${lockReason(state)}`);
			}
			const started = await startRun({
				plan,
				stateProjectDir: ctx.projectDir,
				stateDir: ctx.stateDir,
				operator: ctx.operator,
				held: ctx.lock.held,
				takeOverStale: false,
			});
			return {runId: started.runId, kind: plan.kind, from: plan.from.tag, to: plan.to.tag, running: true, pid: started.pid, output: '', result: null};
		},
		async latest() {
			const run = await find();
			return run ? view(run, await readOutput(run.paths.output)) : null;
		},
		async follow(runId, onProgress, signal) {
			const run = await find(runId);
			if (!run) return null;
			let output = '';
			let last = view(run, '');
			for await (const progress of followWorker(run.paths, {pid: run.pid ?? 0, processStart: run.processStart}, {signal, pollMs: 250})) {
				output = `${output}${progress.output}`.split('\n').slice(-outputTail).join('\n');
				last = {...last, output, running: progress.running, result: progress.result};
				onProgress(last);
			}
			return last;
		},
		async release() {
			try {
				const release = await detectRelease(connected(), ctx.project, ctx.stateDir);
				return {shape: release.shape, lines: releaseLines(release), summary: releaseSummary(release), error: null};
			} catch (error) {
				if (!isConsoleError(error)) throw error;
				return {shape: null, lines: [], error: error.message};
			}
		},
		async takeLock(takeOverStale) {
			try {
				const acquired = await acquireLock(ctx.projectDir, holderFor(ctx.operator, 'console'), {takeOverStale});
				ctx.lock.held = acquired.holder;
				ctx.onLock(true, null);
				return {ok: true, message: acquired.tookOver ? `took over the stale lock of ${describeHolder(acquired.tookOver)}` : 'this console holds the project now'};
			} catch (error) {
				if (!isConsoleError(error)) throw error;
				return {ok: false, message: error.message};
			}
		},
	};
}
