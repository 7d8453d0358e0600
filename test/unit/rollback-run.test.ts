import assert from 'node:assert/strict';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import type {ComposeCommands, ComposeRun, ContainerInfo, Engine, ImageInfo} from '../../source/engine/types.js';
import {containerInfo} from '../support/container-info.js';
import {acquireLock, holderFor, lockFile} from '../../source/incident/project-lock.js';
import {readReleases} from '../../source/incident/stabilise/releases.js';
import {releaseServices} from '../../source/incident/stabilise/release-services.js';
import {buildPlan} from '../../source/incident/stabilise/plan.js';
import {composeMessage, runWorker, serviceInMessage, type WorkerJob} from '../../source/incident/stabilise/run.js';
import {parseSettings} from '../../source/incident/settings.js';

const dirs: string[] = [];
after(() => dirs.forEach(d => rmSync(d, {recursive: true, force: true})));
const d = (c: string) => `sha256:${c.repeat(64)}`;
const operator = {user: 'alice', sshConnection: null, host: os.hostname()};

const container = (service: string, imageId: string, health: ContainerInfo['health']): ContainerInfo => containerInfo(service, {health, imageId, image: 'r/app:v1.3.9'});

async function setup(upExit: number, webHealth: ContainerInfo['health']) {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-run-'));
	dirs.push(dir);
	const stack = path.join(dir, 'stack');
	const state = path.join(dir, 'state', 'shop');
	for (const p of [stack, state]) mkdirSync(p, {recursive: true});
	writeFileSync(path.join(stack, '.env'), 'IMAGE_TAG=v1.4.0\nWEB_PORT=8080\n');
	const release = releaseServices(parseSettings(null), {web: 'r/app:${IMAGE_TAG}', worker: 'r/app:${IMAGE_TAG}'}, {web: {image: 'r/app:v1.4.0'}, worker: {image: 'r/app:v1.4.0'}});
	const plan = buildPlan({
		kind: 'rollback',
		now: Date.now(),
		project: {workingDir: stack, files: [path.join(stack, 'compose.yaml')], name: 'shop'},
		projectName: 'shop',
		argv: (_p, args) => ['docker-compose', ...args],
		release,
		persist: 'env',
		current: {web: {tag: 'v1.4.0', digest: d('4'), imageId: 'i140', ok: false}, worker: {tag: 'v1.4.0', digest: d('4'), imageId: 'i140', ok: true}},
		previousValue: 'v1.4.0',
		target: {
			requested: 'v1.3.9',
			tag: 'v1.3.9',
			pinned: null,
			pinReason: null,
			value: 'v1.3.9',
			services: {web: {reference: 'r/app:v1.3.9', digest: d('9'), local: true, imageId: 'i139'}, worker: {reference: 'r/app:v1.3.9', digest: d('9'), local: true, imageId: 'i139'}},
			skipPull: null,
			verified: true,
			verifiedAt: null,
			migrationHead: null,
		},
		envFile: {path: path.join(stack, '.env'), text: 'IMAGE_TAG=v1.4.0\nWEB_PORT=8080\n'},
		override: null,
		incidentEvents: [],
		shellHasVariable: false,
	});
	const lock = (await acquireLock(state, holderFor(operator, 'rollback to v1.3.9'))).holder;
	const job: WorkerJob = {
		version: 1,
		runId: 'run-1',
		plan,
		timelineFile: path.join(dir, 'timeline.jsonl'),
		projectDir: state,
		incident: 'inc',
		operator,
		lockFrom: lock,
		returnLockTo: null,
	};
	const commands: Array<{args: string[]; env: Record<string, string> | undefined}> = [];
	const compose: ComposeCommands = {
		argv: (_p, args) => args,
		rawImages: async () => ({}),
		configWith: async () => {
			throw new Error('not used');
		},
		async stream(_project, args, options = {}): Promise<ComposeRun> {
			commands.push({args, env: options.env});
			const up = args[0] === 'up';
			options.onOutput?.('stderr', up ? ' Container shop-web-1  Started\n' : ' web Pulled\n');
			const failed = up && upExit !== 0;
			return {argv: args, exitCode: failed ? upExit : 0, stdout: '', stderr: failed ? 'container shop-web-1 is unhealthy\n' : '', ms: 5};
		},
		logTail: async (_p, service, lines) => Array.from({length: 60}, (_, i) => `${service} log ${i}`).slice(-lines),
	};
	const image: ImageInfo = {id: 'i139', repoTags: ['r/app:v1.3.9'], repoDigests: [`r/app@${d('9')}`], created: '', size: 1};
	const engine = {
		projectContainers: async () => [container('web', 'i139', webHealth), container('worker', 'i139', 'none')],
		image: async (reference: string) => (reference === 'r/app:v1.3.9' ? image : null),
	} as unknown as Engine;
	const output: string[] = [];
	const result = await runWorker(job, {compose, engine: async () => engine}, text => output.push(text));
	const events = readFileSync(job.timelineFile, 'utf8').trim().split('\n').map(l => JSON.parse(l) as {type: string; data: Record<string, unknown>});
	return {dir, stack, state, result, events, commands, output: output.join(''), releases: await readReleases(path.join(state, 'releases.jsonl'))};
}

test('a successful run: pull, .env written with a backup, up, verified, recorded; the lock let go', async () => {
	const run = await setup(0, 'healthy');
	assert.equal(run.result.success, true, run.result.message ?? '');
	assert.deepEqual(run.commands.map(c => c.args[0]), ['pull', 'up']);
	assert.deepEqual(run.commands[0]!.env, {IMAGE_TAG: 'v1.3.9'});
	assert.equal(readFileSync(path.join(run.stack, '.env'), 'utf8'), 'IMAGE_TAG=v1.3.9\nWEB_PORT=8080\n');
	const backups = readdirSync(run.stack).filter(f => f.startsWith('.env.bak-'));
	assert.equal(backups.length, 1);
	assert.equal(readFileSync(path.join(run.stack, backups[0]!), 'utf8'), 'IMAGE_TAG=v1.4.0\nWEB_PORT=8080\n');
	assert.deepEqual(
		run.events.map(e => e.type),
		['rollback_start', 'command', 'durable_change', 'command', 'verify', 'rollback_complete', 'step_status'],
	);
	assert.deepEqual(run.events[0]!.data['from'], 'v1.4.0');
	assert.equal(run.events.at(-2)!.data['success'], true);
	assert.deepEqual(run.releases.map(r => `${r.event} ${r.tag}`), ['seen v1.4.0', 'deployed v1.3.9', 'verified v1.3.9', 'rolled_back v1.4.0']);
	assert.equal(run.releases[2]!.digests['web'], d('9'));
	assert.equal(existsSync(lockFile(run.state)), false);
	assert.match(run.output, /rollback to v1\.3\.9 complete/);
});

test('a failed up: compose\'s message, the failing service\'s last 50 log lines, no verified record, no retry', async () => {
	const run = await setup(1, 'unhealthy');
	assert.equal(run.result.success, false);
	assert.equal(run.result.message, 'container shop-web-1 is unhealthy');
	assert.equal(run.result.failedService, 'web');
	assert.equal(run.result.logs.length, 50);
	assert.equal(run.result.logs.at(-1), 'web log 59');
	assert.deepEqual(run.commands.map(c => c.args[0]), ['pull', 'up'], 'nothing retried, nothing rolled back');
	const failure = run.events.find(e => e.type === 'rollback_failure')!;
	assert.equal(failure.data['service'], 'web');
	assert.equal(run.events.find(e => e.type === 'rollback_complete')!.data['success'], false);
	assert.deepEqual(run.releases.map(r => r.event), ['seen']);
	assert.equal(existsSync(lockFile(run.state)), false);
});

test('up -d succeeds but a service turns unhealthy while the worker waits: compose\'s words, that service\'s logs, nothing verified', async () => {
	const run = await setup(0, 'unhealthy');
	assert.equal(run.result.success, false);
	assert.equal(run.result.message, 'container shop-web-1 is unhealthy');
	assert.equal(run.result.failedService, 'web');
	assert.equal(run.result.logs.at(-1), 'web log 59');
	assert.deepEqual(run.commands.map(c => c.args), [['pull', '--policy', 'always', 'web', 'worker'], ['up', '-d']]);
	assert.match(run.output, /waiting up to 60 s for every service/);
	assert.deepEqual(run.releases.map(r => r.event), ['seen']);
	assert.equal(run.events.find(e => e.type === 'verify')!.data['wait'] !== undefined, true);
});

test('compose messages: the error line, and the service it names', () => {
	assert.equal(composeMessage({argv: [], exitCode: 1, ms: 1, stdout: '', stderr: ' Container a  Started\ndependency failed to start: container shop-web-1 exited (2)\n'}), 'dependency failed to start: container shop-web-1 exited (2)');
	assert.equal(serviceInMessage('container shop-web-1 is unhealthy', 'shop', ['web', 'worker']), 'web');
	assert.equal(serviceInMessage('manifest unknown', 'shop', ['web']), null);
});
