// The detached rollback worker: `node rollback-worker.js JOB`. Started by `rollback`,
// `deploy` or the console in its own session (detached), with stdout and stderr going to
// files in the incident's worker/ directory, so the operator's SSH session dropping (SIGHUP)
// or the console being killed does not stop it. Never loads Ink or React.
import {readFileSync, rmSync} from 'node:fs';
import module from 'node:module';
import {dirname} from 'node:path';
import {streamCommand} from '../engine/command-stream.js';

// No terminal to hang up on, but a stray SIGHUP (a process-group kill) must not stop it either.
process.on('SIGHUP', () => {});

type Job = import('../incident/stabilise/run.js').WorkerJob;
type Plan = Job['plan'];
const write = (text: string) => process.stdout.write(text);

/**
 * The plan's pull, started with only node builtins loaded (every millisecond before it adds to
 * the rollback); the rest loads while it runs. Null when runWorker pulls: literal tags are pinned
 * in the files first (compose pulls what they name).
 */
function startPull(plan: Plan, stop?: AbortSignal): ReturnType<typeof streamCommand> | null {
	const pull = plan.commands[0];
	if (!pull || pull.skip || plan.durable.beforePull) return null;
	write(`» ${plan.kind} ${plan.project.name}: ${plan.from.tag ?? '-'} → ${plan.to.tag} (worker pid ${process.pid})\n» ${pull.display}\n`);
	// A registry that stops answering mid-pull: stopped after the pull timeout, and said so (run.ts).
	const signals = [...(stop ? [stop] : []), ...(pull.timeoutMs ? [AbortSignal.timeout(pull.timeoutMs)] : [])];
	const started = streamCommand(pull.argv, {
		cwd: plan.project.workingDir,
		env: {...process.env, ...pull.env},
		...(signals.length > 0 ? {signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals)} : {}),
		onOutput: (_stream, chunk) => write(chunk),
	});
	started.catch(() => {});
	return started;
}

/** The pull a spare started from the plan it was shown, before its job came. */
const spare: {early: {plan: string; run: ReturnType<typeof streamCommand> | null; stop: AbortController} | null} = {early: null};

/**
 * Started ahead of its plan (launch.ts, startSpareWorker), it reads stdin: a line holding the
 * confirmed plan (JSON) starts its pull at once; then a line with the job file's path. Stdin
 * ending before the job means the launcher went away first (a refusal, a cancel, a hang-up
 * before it handed the job over): the pull is stopped, and the directory made for it goes.
 */
async function jobFromLauncher(spareDir: string | undefined): Promise<string> {
	// What runs the job loads while the plan is being made.
	module.enableCompileCache?.();
	void Promise.all([import('../engine/compose-cli.js'), import('../incident/stabilise/run.js'), import('../engine/release-engine.js')]).catch(() => {});
	let text = '';
	process.stdin.setEncoding('utf8');
	for await (const chunk of process.stdin) {
		text += chunk as string;
		let newline: number;
		while ((newline = text.indexOf('\n')) !== -1) {
			const line = text.slice(0, newline).trim();
			text = text.slice(newline + 1);
			if (line.startsWith('{')) {
				const stop = new AbortController();
				spare.early?.stop.abort();
				spare.early = {plan: line, run: startPull(JSON.parse(line) as Plan, stop.signal), stop};
			} else if (line) {
				process.stdin.destroy();
				return line;
			}
		}
	}
	spare.early?.stop.abort();
	if (spareDir) rmSync(spareDir, {recursive: true, force: true});
	process.exit(0);
}

const jobFile = process.argv[2] === '-' ? await jobFromLauncher(process.argv[3]) : process.argv[2];
if (!jobFile) {
	process.stderr.write('usage: rollback-worker JOB.json\n');
	process.exit(2);
}
const job = JSON.parse(readFileSync(jobFile, 'utf8')) as Job;
// The pull already running is this job's when the plan is the one it was started from (or there is
// none to start: runWorker pulls); for any other plan it stops and this job's starts.
const {early} = spare;
const same = early !== null && JSON.stringify(JSON.parse(early.plan)) === JSON.stringify(job.plan);
if (early && !same) early.stop.abort();
const startedPull = same ? early!.run : startPull(job.plan);
module.enableCompileCache?.();
const {ComposeCli} = await import('../engine/compose-cli.js');
const {runWorker, workerPaths, writeResult} = await import('../incident/stabilise/run.js');

const project = {workingDir: job.plan.project.workingDir, files: job.plan.project.files, name: job.plan.project.name};
// runWorker asks for the engine as `up` starts (a few HTTP requests; dockerode only for TLS/ssh
// engines). Compose's config of the new release, the migration head's reader and its engine load
// during the wait after `up` (warm), not beside `up` (they took CPU from compose) nor after the
// wait (they were ~100 ms between the stack being healthy and the result).
let config: ReturnType<InstanceType<typeof ComposeCli>['config']> | undefined;
const projectConfig = () => {
	config ??= new ComposeCli().config(project);
	config.catch(() => {});
	return config;
};
const engine = async () => {
	const {connectReleaseEngine} = await import('../engine/release-engine.js');
	return connectReleaseEngine();
};
const projectServices = async () => (await projectConfig()).services;
let databaseModel: Promise<typeof import('./database-model.js')> | undefined;
const loadDatabaseModel = () => (databaseModel ??= import('./database-model.js'));
const warm = () => {
	void projectConfig();
	void loadDatabaseModel().catch(() => {});
	// Its engine is dockerode's: the module loads now, the connection is made when read.
	void import('../engine/dockerode-client.js')
		.then(m => m.openDockerode())
		.catch(() => {});
};
// The head recorded with the release in releases.jsonl (the Database step's rule (a)).
const migrationHead = async () =>
	(await loadDatabaseModel()).migrationHeadOf(
		project,
		job.plan.services.map(s => s.service),
	);
const result = await runWorker(job, {compose: new ComposeCli(), engine, migrationHead, projectServices, warm, ...(startedPull ? {startedPull} : {})}, write);
await writeResult(workerPaths(dirname(dirname(jobFile)), job.runId), result);
process.exitCode = result.success ? 0 : 3;
// Exit even if the engine client keeps a socket open.
setTimeout(() => process.exit(), 50).unref();
