import {spawn} from 'node:child_process';
import {locateProject} from '../engine/compose-project.js';
import {ComposeCli} from '../engine/compose-cli.js';
import {ConsoleError, exitCodes} from '../errors.js';
import {trace} from '../trace.js';
import {startMarkedConfig} from '../incident/stabilise/marked-config.js';
import {parseRef} from '../incident/stabilise/release-ref.js';
import type {RollbackPlan, RunKind} from '../incident/stabilise/plan.js';
import type {WorkerResult} from '../incident/stabilise/run.js';
import type {GlobalOptions} from './global-options.js';

// Only light modules above: compose is started first thing, and the rest of the command
// (engine client, registry client, planning, the worker's launcher) loads while it parses
// the project. A rollback's overhead over the raw compose commands is mostly start-up.
const load = () =>
	Promise.all([
		import('node:readline/promises'),
		import('../incident/project-lock.js'),
		import('../incident/stabilise/launch.js'),
		import('../incident/stabilise/plan.js'),
		import('../incident/stabilise/prepare.js'),
		import('../incident/stabilise/runs.js'),
		import('../incident/operator.js'),
		import('../console/connect-stabilise.js'),
	]);

/** Asks for the target tag to be typed back; anything else cancels. */
async function confirmTyped(plan: RollbackPlan, readline: typeof import('node:readline/promises')): Promise<boolean> {
	const rl = readline.createInterface({input: process.stdin, output: process.stderr});
	try {
		const answer = await rl.question(`Type ${plan.to.tag} to ${plan.kind === 'rollback' ? 'roll back' : 'deploy'} (anything else cancels): `);
		return answer.trim() === plan.to.tag;
	} finally {
		rl.close();
	}
}

/** The named thing typed back; anything else is no. */
async function askTyped(readline: typeof import('node:readline/promises'), prompt: string, expected: string): Promise<boolean> {
	const rl = readline.createInterface({input: process.stdin, output: process.stderr});
	try {
		return (await rl.question(`${prompt}\n  type ${expected} to acknowledge it (anything else cancels): `)).trim() === expected;
	} finally {
		rl.close();
	}
}

function summary(result: WorkerResult | null, plan: RollbackPlan): string {
	if (!result) return `the worker ended without a result: see its output above`;
	const secs = (result.duration / 1000).toFixed(1);
	if (result.success) {
		return `${plan.kind === 'rollback' ? 'Rolled back' : 'Deployed'} ${plan.project.name} to ${plan.to.tag} in ${secs} s: ${plan.services.map(s => s.service).join(', ')} run it and are healthy`;
	}
	return `${plan.kind} to ${plan.to.tag} FAILED after ${secs} s: ${result.message}${result.failedService ? ` (service ${result.failedService})` : ''}; the stack is left as it is`;
}

/**
 * The plan's pull, exactly as the worker will run it, started now with its output dropped and
 * never holding this process open; abort() stops it. Null when there is none to start early.
 */
function prefetchPull(plan: RollbackPlan): AbortController | null {
	const pull = plan.commands[0];
	if (!pull || pull.skip || plan.durable.beforePull) return null;
	const controller = new AbortController();
	const signal = pull.timeoutMs ? AbortSignal.any([controller.signal, AbortSignal.timeout(pull.timeoutMs)]) : controller.signal;
	try {
		const child = spawn(pull.argv[0]!, pull.argv.slice(1), {cwd: plan.project.workingDir, env: {...process.env, ...pull.env}, stdio: 'ignore', signal});
		child.on('error', () => {});
		child.unref();
	} catch {
		// Only a head start: the worker pulls anyway.
	}
	return controller;
}

/** `rollback` and `deploy`: plan, confirm, start the detached worker, follow it to the end. */
export async function runRelease(kind: RunKind, options: GlobalOptions, args: string[]): Promise<number> {
	if (args.length > 0) throw new ConsoleError(`${kind}: unexpected argument "${args[0]}"`);
	if (kind === 'deploy' && !options.to) throw new ConsoleError('deploy: --to TAG (or sha256:DIGEST) is required');
	// A malformed --to is refused before anything else happens.
	if (options.to) parseRef(options.to);
	if (options.readOnly) throw new ConsoleError(`${kind}: --read-only forbids changing the stack`);
	const project = locateProject(options);
	const compose = new ComposeCli();
	const marked = startMarkedConfig(compose, project);
	trace('compose started');
	void marked?.config.then(() => trace('compose config done'));
	// The state dir, and with --yes the worker started ahead of the plan, next: the worker's own
	// start (~150 ms on a loaded box) must be over by the time the plan is made.
	const resolvingState = import('../incident/state-dir.js').then(m => m.resolveStateDir({flag: options.stateDir, env: process.env}));
	resolvingState.catch(() => {});
	const spareStarting = options.yes
		? Promise.all([resolvingState, import('../incident/stabilise/launch.js')])
				.then(([dir, launch]) => launch.startSpareWorker(dir.dir, project.workingDir))
				.catch(() => null)
		: Promise.resolve(null);
	// The engine client next (plain HTTP where it can: dockerode's load was the plan's critical path), then the rest.
	const engine = import('../engine/release-engine.js').then(m => m.connectReleaseEngine());
	engine.catch(() => {});
	const [readline, lockModule, launch, planModule, prepare, stabilise, operatorModule, {connectStabilise}] = await load();
	trace('modules loaded');
	void engine.then(() => trace('engine loaded'));
	const {describeHolder, lockState} = lockModule;
	const stateDir = await resolvingState;
	// With --yes nothing waits for the operator: the worker, started above, is handed the plan once
	// it is made (launch.ts). Any refusal before that lets it go unused.
	const spare = await spareStarting;
	try {
		const outside = connectStabilise(process.env, compose, engine);
		const gathered = await prepare.gather(outside, project, stateDir.dir, {prefetch: options.to ?? null, marked});
		trace('gathered');

		// One operator at a time: refuse early, naming who holds the project.
		const lock = await lockState(gathered.projectDir);
		if (lock.state === 'held') throw new ConsoleError(`${kind} refused: the project is locked by ${describeHolder(lock.holder)}`);

		const plan = await prepare.planFrom(outside, gathered, {kind, to: options.to ?? null});
		// Whether an incident is open already: a rollback without one opens it (and announces that).
		let openBefore = false;
		if (kind === 'rollback') {
			const {lookAtOpenIncident} = await import('../incident/follow-up/new-problem.js');
			const look = await lookAtOpenIncident(gathered.projectDir, gathered.services);
			openBefore = look !== null;
			if (look?.notice) process.stderr.write(`${look.notice} (continuing it; rollback-console close ends it)\n`);
		}
		trace('planned');
		// With --yes the operator has confirmed already: the target's images are fetched while the
		// preflight runs and the worker starts; the worker's own pull then joins it or finds them
		// there. Never before a confirmation, and stopped by any refusal on the way (nothing pulled
		// behind a "nothing was changed"). Not when literal tags are pinned in the files first: that
		// pull follows the edit.
		// The worker started ahead pulls itself (its output then goes where the run's does); else a
		// pull of our own, its output dropped, that the worker's own pull joins or finds done.
		const prefetch = !options.yes ? null : spare?.pull(plan) ? {abort: () => spare.discard()} : prefetchPull(plan);
		const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
		if (!options.json) {
			if (!options.to && kind === 'rollback') process.stdout.write(`Last known good release: ${plan.to.tag}\n`);
			process.stdout.write(planModule.planText(plan));
			if (lock.state === 'stale') process.stdout.write(`\nStale lock (${lock.reason}) of ${describeHolder(lock.holder)}: confirming takes it over.\n`);
		}
		// deploy's preflight (the Database step): destructive migrations need acknowledging by name.
		const preflight =
			kind === 'deploy'
				? await (await import('../console/database-model.js'))
						.deployPreflight(gathered, plan, {
							acceptDestructive: options.acceptDestructive === true,
							backup: options.backup !== false,
							json: options.json,
							ask: interactive ? (prompt, expected) => askTyped(readline, prompt, expected) : null,
						})
						.catch((error: unknown) => {
							prefetch?.abort();
							throw error;
						})
				: null;
		if (!options.yes) {
			if (!interactive) throw new ConsoleError(`${kind} refused: no terminal to confirm on; pass --yes to run this plan`);
			if (!(await confirmTyped(plan, readline))) {
				process.stderr.write('cancelled: nothing was changed\n');
				return exitCodes.wanting;
			}
		}
		const operator = operatorModule.currentOperator();
		let started: Awaited<ReturnType<typeof stabilise.startRun>>;
		try {
			await preflight?.commit();
			started = await stabilise.startRun({
				plan,
				stateProjectDir: gathered.projectDir,
				stateDir: stateDir.dir,
				operator,
				held: null,
				takeOverStale: lock.state === 'stale' || options.yes,
				spare,
			});
		} catch (error) {
			prefetch?.abort();
			throw error;
		}
		trace(`worker ${started.pid} started`);
		// Announced beside the worker, never in its way: a failed notification is said and recorded.
		const {announce} = await import('../incident/follow-up/announce.js');
		const announcement = started.incident
			? {settings: gathered.loaded.settings, project: plan.project.name, incident: started.incident, timelineFile: started.timelineFile, operator}
			: null;
		const tell = (line: string | null) => line && process.stderr.write(`${line}\n`);
		if (announcement && !openBefore) tell(await announce(announcement, 'incident_opened'));
		if (announcement) tell(await announce(announcement, 'rollback_started', {from: plan.from.tag, to: plan.to.tag}));
		if (!options.json) {
			if (started.tookOver) process.stdout.write(`Took over the stale lock of ${describeHolder(started.tookOver)}\n`);
			process.stdout.write(
				`\nWorker pid ${started.pid} runs it (output: ${started.paths.output}); it carries on if this session drops: rollback-console history shows the result.\n\n`,
			);
		}
		const onInterrupt = () => {
			process.stderr.write(`\nstopped following; worker pid ${started.pid} carries on (rollback-console history shows the result)\n`);
			process.exit(130);
		};
		process.once('SIGINT', onInterrupt);
		let result: WorkerResult | null = null;
		for await (const progress of launch.followWorker(started.paths, started)) {
			if (!options.json && progress.output) process.stdout.write(progress.output);
			if (!progress.running) result = progress.result;
		}
		process.off('SIGINT', onInterrupt);
		if (announcement) {
			tell(await announce(announcement, result?.success ? 'rollback_completed' : 'rollback_failed', {from: plan.from.tag, to: plan.to.tag, message: result?.message ?? null}));
		}
		trace('worker done');
		const output = {plan, runId: started.runId, incident: started.incident, worker: {pid: started.pid, output: started.paths.output}, result};
		// --verify: step 6 at once, on the stack just rolled back (its exit code is the answer); with
		// --json, one document holds both.
		if (result?.success && options.verify) {
			if (!options.json) process.stdout.write(`\n${summary(result, plan)}\n\n`);
			const {verifyCommand} = await import('./verify.js');
			return verifyCommand({...options, wait: true}, options.json ? verify => process.stdout.write(`${JSON.stringify({...output, verify}, null, 2)}\n`) : undefined);
		}
		if (options.json) process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
		else process.stdout.write(`\n${summary(result, plan)}\n`);
		if (!result?.success) return exitCodes.failedMidway;
		return exitCodes.ok;
	} finally {
		spare?.discard();
	}
}

export function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	return runRelease('rollback', options, args);
}
