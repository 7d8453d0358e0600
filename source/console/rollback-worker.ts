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

/**
 * Started ahead of its plan (launch.ts, startSpareWorker): the job file's path comes on stdin.
 * Stdin ending without one means the launcher went away first (a refusal, a cancel, a hang-up
 * before it confirmed): nothing to do, and the directory made for this worker goes.
 */
async function jobFromLauncher(spareDir: string | undefined): Promise<string> {
	// What runs the job loads while the plan is being made (the pull still starts first, below).
	module.enableCompileCache?.();
	void Promise.all([import('../engine/compose-cli.js'), import('../incident/stabilise/run.js'), import('../engine/release-engine.js')]).catch(() => {});
	let text = '';
	process.stdin.setEncoding('utf8');
	for await (const chunk of process.stdin) {
		text += chunk as string;
		if (text.includes('\n')) break;
	}
	const line = text.split('\n', 1)[0]!.trim();
	if (!line) {
		if (spareDir) rmSync(spareDir, {recursive: true, force: true});
		process.exit(0);
	}
	process.stdin.destroy();
	return line;
}

const jobFile = process.argv[2] === '-' ? await jobFromLauncher(process.argv[3]) : process.argv[2];
if (!jobFile) {
	process.stderr.write('usage: rollback-worker JOB.json\n');
	process.exit(2);
}
type Job = import('../incident/stabilise/run.js').WorkerJob;
const job = JSON.parse(readFileSync(jobFile, 'utf8')) as Job;
const write = (text: string) => process.stdout.write(text);

// Every millisecond before the pull starts adds to the rollback: start it first, with only
// node builtins loaded, and load the rest while it runs.
const pull = job.plan.commands[0];
let startedPull: ReturnType<typeof streamCommand> | undefined;
// Literal tags are pinned in the files first (compose pulls what they name): then runWorker pulls.
if (pull && !pull.skip && !job.plan.durable.beforePull) {
	write(`» ${job.plan.kind} ${job.plan.project.name}: ${job.plan.from.tag ?? '-'} → ${job.plan.to.tag} (worker pid ${process.pid})\n» ${pull.display}\n`);
	startedPull = streamCommand(pull.argv, {
		cwd: job.plan.project.workingDir,
		env: {...process.env, ...pull.env},
		// A registry that stops answering mid-pull: stopped after the pull timeout, and said so (run.ts).
		...(pull.timeoutMs ? {signal: AbortSignal.timeout(pull.timeoutMs)} : {}),
		onOutput: (_stream, chunk) => write(chunk),
	});
	startedPull.catch(() => {});
}
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
