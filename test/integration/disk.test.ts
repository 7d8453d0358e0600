// The Disk step on a real engine: a stack of a unique repository in its own registry,
// deployed v1.3.9 (verified) → v1.4.0 (current, crash-looping), older verified releases,
// a stopped database with its named volume, an anonymous unused volume, a dangling image,
// stopped foreign containers and a runaway log. The CLI talks to the engine through a proxy
// that records every request and scopes what it sees to this test's own objects, since
// other test files share the engine.
import assert from 'node:assert/strict';
import {execFile, spawn, type ChildProcess} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdir, mkdtemp, readFile, rm, stat, statfs, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {pathToFileURL} from 'node:url';
import {promisify} from 'node:util';
import {gunzipSync} from 'node:zlib';
import type {DiskReport} from '../../source/incident/disk/plan.js';
import type {DiskActionResult} from '../../source/incident/disk/run.js';
import {runCli} from '../support/cli.js';
import {startEngineProxy, type EngineProxy} from '../support/engine-proxy.js';
import {createStack, freePort, ROOT, type Stack} from '../support/stack.js';

const exec = promisify(execFile);
const docker = async (...args: string[]) => (await exec('docker', args, {maxBuffer: 64 << 20, env: {...process.env, DOCKER_BUILDKIT: '0'}})).stdout.trim();

const hex = randomBytes(4).toString('hex');
const prefix = `rct-disk-${hex}`;
const scratchRepo = `${prefix}/scratch`;
const mib = 1024 * 1024;
// Sizes that make statfs's before/after readable over other tests' writes.
const ballast = {kept: 2, old: 48, dangling: 96, foreign: 24};

let registry: ChildProcess | null = null;
let registryDir = '';
let repo = '';
let stack: Stack;
let stateDir = '';
let proxy: EngineProxy;
const releases: Record<string, {id: string; digest: string}> = {};
const ours = new Set<string>();
let danglingId = '';
let scratchId = '';
let anonVolume = '';
let dbVolume = '';
let dbData = '';

async function startRegistry(): Promise<void> {
	const port = await freePort();
	registryDir = await mkdtemp(join(tmpdir(), `${prefix}-registry-`));
	const config = join(registryDir, 'registry.yml');
	await writeFile(
		config,
		`version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${registryDir}/data}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:${port}}\n`,
	);
	registry = spawn('docker-registry', ['serve', config], {stdio: 'ignore'});
	for (let i = 0; i < 80; i++) {
		const up = await fetch(`http://127.0.0.1:${port}/v2/`).then(r => r.ok, () => false);
		if (up) {
			repo = `127.0.0.1:${port}/${prefix}/app`;
			return;
		}
		await delay(100);
	}
	throw new Error('the test registry did not start');
}

async function stopRegistry(): Promise<void> {
	if (!registry || registry.exitCode !== null || registry.signalCode !== null) return;
	const exited = new Promise(resolve => registry!.once('exit', resolve));
	registry.kill('SIGTERM');
	await exited;
}

async function build(tag: string, dockerfile: string): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), `${prefix}-build-`));
	try {
		await writeFile(join(dir, 'Dockerfile'), dockerfile);
		await docker('build', '--quiet', '--tag', tag, dir);
		return await docker('image', 'inspect', '--format', '{{.Id}}', tag);
	} finally {
		await rm(dir, {recursive: true, force: true});
	}
}

/** A release of the unique repository: the fixture app (buildRelease) plus a layer of its own, pushed. */
async function release(tag: string, broken: boolean, megabytes: number): Promise<void> {
	const href = pathToFileURL(join(ROOT, 'scripts', 'images.mjs')).href;
	const {buildRelease} = (await import(href)) as {buildRelease(o: {repo: string; tag: string; broken: boolean}): Promise<unknown>};
	await buildRelease({repo, tag, broken});
	const thin = await docker('image', 'inspect', '--format', '{{.Id}}', `${repo}:${tag}`);
	// The fixture build is cached and shared with other repositories' images: this layer makes it ours.
	const id = await build(`${repo}:${tag}`, `FROM ${repo}:${tag}\nRUN head -c ${megabytes}m /dev/urandom >/ballast-${hex}\n`);
	await docker('push', `${repo}:${tag}`);
	const digests = JSON.parse(await docker('image', 'inspect', '--format', '{{json .RepoDigests}}', id)) as string[];
	const digest = digests.find(d => d.startsWith(`${repo}@`))!.slice(repo.length + 1);
	releases[tag] = {id, digest};
	ours.add(id);
	// The thin image is left untagged unless another repository tags it too (then it is not ours).
	const thinTags = JSON.parse(await docker('image', 'inspect', '--format', '{{json .RepoTags}}', thin)) as string[];
	if (thinTags.length === 0) ours.add(thin);
}

function releaseRecord(event: string, tag: string, minutesAgo: number): string {
	const r = releases[tag]!;
	return JSON.stringify({
		time: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
		event,
		tag,
		digests: {web: r.digest, worker: r.digest},
		imageIds: {web: r.id, worker: r.id},
		migrationHead: null,
		operator: {user: 'test', ssh: null, pid: process.pid},
		incident: null,
	});
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
	runCli([...args, '--project-dir', stack.dir, '--state-dir', stateDir], {env: {DOCKER_HOST: proxy.dockerHost, ...env}, timeoutMs: 120_000});

const exists = (what: 'image' | 'volume' | 'container', ref: string) =>
	exec('docker', [what, 'inspect', ref]).then(
		() => true,
		() => false,
	);

async function freeOnDocker(): Promise<number> {
	await exec('sync');
	const fs = await statfs('/var/lib/docker');
	return fs.bavail * fs.bsize;
}

before(async () => {
	await startRegistry();
	const tags = ['v1.3.4', 'v1.3.5', 'v1.3.6', 'v1.3.7', 'v1.3.8', 'v1.3.9', 'v1.4.0'];
	// Everything that does not depend on the releases is made while they build.
	await Promise.all([
		...tags.map(tag => release(tag, tag === 'v1.4.0', tag === 'v1.3.4' ? ballast.old : ballast.kept)),
		(async () => {
			// Two builds under one tag: the first becomes dangling (no tag, no digest).
			danglingId = await build(`${scratchRepo}:latest`, `FROM local/busybox:latest\nRUN head -c ${ballast.dangling}m /dev/urandom >/blob-${hex}\n`);
			scratchId = await build(`${scratchRepo}:latest`, `FROM local/busybox:latest\nRUN echo ${hex} >/second\n`);
			ours.add(danglingId).add(scratchId);
			ours.add(await docker('image', 'inspect', '--format', '{{.Id}}', 'local/busybox:latest'));
		})(),
		(async () => {
			// An anonymous volume its container left behind.
			await docker('run', '--name', `${prefix}-anon`, '-v', '/data', 'local/busybox:latest', 'sh', '-c', 'head -c 8m /dev/urandom >/data/blob');
			anonVolume = await docker('inspect', '--format', '{{range .Mounts}}{{.Name}}{{end}}', `${prefix}-anon`);
			await docker('rm', `${prefix}-anon`);
		})(),
		// Stopped containers compose did not create, each with a writable layer to free.
		...[1, 2].map(n =>
			docker('run', '--name', `${prefix}-foreign-${n}`, 'local/busybox:latest', 'sh', '-c', `head -c ${ballast.foreign}m /dev/urandom >/junk; echo done`),
		),
		(async () => {
			// A runaway log (still running, so it is not removed with its container).
			await docker('run', '-d', '--name', `${prefix}-chatty`, 'local/busybox:latest', 'sh', '-c', 'i=0; while [ $i -lt 120000 ]; do echo "chatty line $i of a runaway log, padded to make it longer than it needs to be"; i=$((i+1)); done; echo LAST-LINE; exec sleep 3600');
			for (let i = 0; i < 300; i++) {
				if ((await docker('logs', '--tail', '1', `${prefix}-chatty`)).includes('LAST-LINE')) break;
				await delay(100);
			}
		})(),
	]);

	stack = await createStack({
		tag: 'v1.3.9',
		extraCompose: `services:\n  web:\n    image: ${repo}:\${IMAGE_TAG:?set IMAGE_TAG}\n  worker:\n    image: ${repo}:\${IMAGE_TAG:?set IMAGE_TAG}\n`,
	});
	await stack.up({wait: true});
	stateDir = await mkdtemp(join(tmpdir(), `${prefix}-state-`));
	const projectDir = join(stateDir, stack.projectName);
	await mkdir(projectDir, {recursive: true});
	// What the rollback machinery records: v1.3.4…v1.3.9 verified in turn, then v1.4.0 deployed.
	const lines = tags.slice(0, 6).map((tag, i) => releaseRecord('verified', tag, 60 - i * 5));
	lines.push(releaseRecord('deployed', 'v1.4.0', 1));
	await writeFile(join(projectDir, 'releases.jsonl'), `${lines.join('\n')}\n`);
	await stack.setTag('v1.4.0');
	await stack.up();
	// The database down, its named volume attached to a stopped container.
	await stack.compose(['stop', 'db']);
	dbVolume = `${stack.projectName}_dbdata`;
	dbData = await readFile(`/var/lib/docker/volumes/${dbVolume}/_data/db`, 'utf8');

	proxy = await startEngineProxy({
		container: c => c.name.startsWith(prefix) || c.labels['com.docker.compose.project'] === stack.projectName,
		image: id => ours.has(id),
		volume: name => name === dbVolume || name === anonVolume,
	});
});

after(async () => {
	await proxy?.close();
	const names = await docker('ps', '-aq', '--filter', `name=^/${prefix}-`).catch(() => '');
	if (names) await exec('docker', ['rm', '-f', ...names.split('\n')]).catch(() => {});
	await stack?.down();
	await exec('docker', ['volume', 'rm', anonVolume]).catch(() => {});
	const busybox = await docker('image', 'inspect', '--format', '{{.Id}}', 'local/busybox:latest').catch(() => '');
	for (const id of ours) if (id !== busybox) await exec('docker', ['rmi', id]).catch(() => {});
	// References of our repository left on shared images (the cached fixture builds): untag only.
	const refs = (await docker('images', '--digests', '--format', '{{.Repository}}@{{.Digest}}', repo).catch(() => '')).split('\n').filter(r => r.includes('@sha256:'));
	for (const ref of refs) await exec('docker', ['rmi', ref]).catch(() => {});
	await stopRegistry();
	await rm(registryDir, {recursive: true, force: true}).catch(() => {});
	await rm(stateDir, {recursive: true, force: true}).catch(() => {});
});

let plan: DiskReport;

test('disk --json: usage, the plan with sizes, and every protected item with its reason; changes nothing', async () => {
	const result = await cli(['disk', '--json']);
	assert.equal(result.stderr, '');
	plan = JSON.parse(result.stdout) as DiskReport;
	assert.equal(result.exitCode, plan.over ? 1 : 0);
	assert.deepEqual(plan.filesystems.map(f => f.label), ['root', 'docker', 'state']);
	for (const f of plan.filesystems) assert.ok(f.size > 0 && f.usedPercent > 0 && f.usedPercent < 100);
	assert.equal(plan.engine.apiVersion, '1.41');
	assert.equal(plan.releases?.current, 'v1.4.0');
	assert.equal(plan.releases?.lastKnownGood, 'v1.3.9');

	const safe = plan.plan.actions.filter(a => a.safe);
	const byName = (name: string) => plan.plan.actions.find(a => a.name === name);
	assert.deepEqual(safe.filter(a => a.kind === 'remove-container').map(a => a.name).sort(), [`${prefix}-foreign-1`, `${prefix}-foreign-2`]);
	for (const n of [1, 2]) assert.ok(byName(`${prefix}-foreign-${n}`)!.bytes >= ballast.foreign * mib);
	const images = safe.filter(a => a.kind === 'remove-image');
	const dangling = images.find(a => a.target === danglingId);
	assert.ok(dangling, 'the dangling image is in the plan');
	assert.ok(Math.abs(dangling.bytes - ballast.dangling * mib) < mib, `the dangling image frees its own layer: ${dangling.bytes}`);
	const old = images.find(a => a.target === releases['v1.3.4']!.id);
	assert.ok(old, 'v1.3.4, older than the last five verified, is in the plan');
	assert.match(old.detail, /v1\.3\.4: verified .* older than the last 5 verified/);
	assert.ok(old.bytes >= ballast.old * mib && old.bytes < (ballast.old + 1) * mib, `v1.3.4 frees about its ballast layer: ${old.bytes}`);
	for (const tag of ['v1.3.5', 'v1.3.6', 'v1.3.7', 'v1.3.8', 'v1.3.9', 'v1.4.0']) {
		assert.ok(!plan.plan.actions.some(a => a.target === releases[tag]!.id), `${tag} is not in the plan`);
	}
	assert.ok(!plan.plan.actions.some(a => a.target === scratchId), 'an image of another repository is not in the plan');
	assert.equal(plan.plan.actions.filter(a => a.kind === 'prune-build-cache').length, 0, 'no build cache here: no prune');
	assert.ok(plan.notes.some(n => /build cache: none/.test(n)));

	// Every protected item, with its reason.
	const kept = (target: string) => plan.plan.protected.find(p => p.target === target);
	assert.match(kept(releases['v1.3.9']!.id)!.reason, /the last known good release v1\.3\.9, by digest/);
	for (const tag of ['v1.3.5', 'v1.3.6', 'v1.3.7', 'v1.3.8']) {
		assert.match(kept(releases[tag]!.id)!.reason, new RegExp(`verified release ${tag.replaceAll('.', '\\.')} \\(one of the last 5 verified\\), by digest`));
	}
	assert.match(kept(releases['v1.4.0']!.id)!.reason, /^used by .*-web-1/);
	assert.match(kept(scratchId)!.reason, /not this project's .* left alone/);
	assert.match(kept(dbVolume)!.reason, new RegExp(`named volume dbdata of compose project ${stack.projectName}, used by ${stack.projectName}-db-1 \\(exited\\): named volumes are never removed`));
	const db = plan.plan.protected.find(p => p.kind === 'container' && p.name === `${stack.projectName}-db-1`);
	assert.match(db!.reason, /compose manages it/);
	for (const item of plan.plan.protected) assert.ok(item.reason.length > 0, `${item.name} has a reason`);

	// Volumes and logs only on a per-item confirmation.
	const anon = plan.plan.actions.find(a => a.kind === 'remove-volume');
	assert.equal(anon?.target, anonVolume);
	assert.equal(anon?.safe, false);
	assert.equal(anon?.typed, anonVolume.slice(0, 12));
	assert.ok(anon!.bytes >= 8 * mib);
	assert.match(anon!.detail, /anonymous volume .*no container uses it.*holds blob/);
	const log = plan.plan.actions.find(a => a.kind === 'truncate-log');
	assert.equal(log?.name, `${prefix}-chatty`);
	assert.equal(log?.safe, false);
	assert.equal(plan.logs[0]?.container, `${prefix}-chatty`);

	assert.equal(plan.plan.estimate.safe, safe.reduce((sum, a) => sum + a.bytes, 0));
	assert.ok(await exists('container', `${prefix}-foreign-1`), 'disk changed nothing');
	assert.ok(await exists('image', danglingId));
});

test('the text report draws the bars and groups the plan', async () => {
	const result = await cli(['disk']);
	assert.equal(result.exitCode, plan.over ? 1 : 0);
	assert.match(result.stdout, /^ {2}\/ {6}\/ +[█░┃│]{24} +\d+%/m);
	assert.match(result.stdout, /Plan: `disk prune --yes` frees about \d/);
	assert.match(result.stdout, /remove container +rct-disk-/);
	assert.match(result.stdout, /Kept, and why/);
});

test('refusals: no --yes without a terminal, --yes without prune, a protected --volume (exit 2, nothing run)', async () => {
	const noTty = await cli(['disk', 'prune', '--json']);
	assert.equal(noTty.exitCode, 2);
	assert.match(noTty.stderr, /disk prune refused: no terminal to confirm on; pass --yes/);
	const yes = await cli(['disk', '--yes']);
	assert.equal(yes.exitCode, 2);
	assert.match(yes.stderr, /--yes goes with `disk prune`/);
	const named = await cli(['disk', 'prune', '--yes', '--volume', dbVolume]);
	assert.equal(named.exitCode, 2);
	assert.match(named.stderr, new RegExp(`--volume ${dbVolume}: protected — named volume dbdata`));
	assert.ok(await exists('container', `${prefix}-foreign-1`));
});

test('disk prune --yes: frees what it estimated (statfs), keeps the rollback images and the database', async () => {
	const before = await freeOnDocker();
	const result = await cli(['disk', 'prune', '--yes', '--json']);
	const after = await freeOnDocker();
	assert.equal(result.exitCode, 0, result.stderr || result.stdout.slice(result.stdout.indexOf('"results"')));
	const json = JSON.parse(result.stdout) as {results: DiskActionResult[]; freedBytes: number; estimate: number; before: number; after: number; incident: string; failed: number};
	assert.equal(json.failed, 0);
	assert.ok(json.results.every(r => r.ok));
	assert.ok(json.results.every(r => r.action === 'remove-container' || r.action === 'remove-image'), 'only the safe kinds ran');
	const measured = after - before;
	process.stderr.write(`# disk prune: estimate ${json.estimate} B, freed ${json.freedBytes} B by the CLI's statfs, ${measured} B by the test's (after sync)\n`);
	assert.ok(json.estimate > 150 * mib, `a sizeable estimate: ${json.estimate}`);
	assert.ok(Math.abs(json.freedBytes - json.estimate) <= json.estimate * 0.1, `the CLI's statfs: freed ${json.freedBytes} vs estimate ${json.estimate}`);
	assert.ok(Math.abs(measured - json.estimate) <= json.estimate * 0.1, `the test's statfs: freed ${measured} vs estimate ${json.estimate}`);
	assert.equal(json.after - json.before, json.freedBytes);

	// Gone: the foreign containers, the dangling image, v1.3.4.
	assert.equal(await exists('container', `${prefix}-foreign-1`), false);
	assert.equal(await exists('container', `${prefix}-foreign-2`), false);
	assert.equal(await exists('image', danglingId), false);
	assert.equal(await exists('image', releases['v1.3.4']!.id), false);
	// Kept, by digest: the current release, the last known good and the last five verified.
	for (const tag of ['v1.3.5', 'v1.3.6', 'v1.3.7', 'v1.3.8', 'v1.3.9', 'v1.4.0']) {
		assert.ok(await exists('image', `${repo}@${releases[tag]!.digest}`), `${tag} still here by digest`);
	}
	assert.ok(await exists('image', scratchId), "another repository's image is left alone");
	assert.ok(await exists('image', 'local/busybox:latest'));
	// The database volume and its data, untouched; the anonymous volume and the log too.
	assert.ok(await exists('volume', dbVolume));
	assert.equal(await readFile(`/var/lib/docker/volumes/${dbVolume}/_data/db`, 'utf8'), dbData);
	assert.ok(await exists('volume', anonVolume));
	const logPath = await docker('inspect', '--format', '{{.LogPath}}', `${prefix}-chatty`);
	assert.ok((await stat(logPath)).size > 10 * mib);

	// The timeline: each action, then the totals.
	const timeline = (await readFile(join(stateDir, stack.projectName, 'incidents', json.incident, 'timeline.jsonl'), 'utf8'))
		.trim()
		.split('\n')
		.map(line => JSON.parse(line) as {step: string | null; type: string; data: Record<string, unknown>});
	const actions = timeline.filter(e => e.type === 'disk_action');
	assert.equal(actions.length, json.results.length);
	for (const event of actions) {
		assert.equal(event.step, 'disk');
		for (const key of ['action', 'target', 'bytesFreed', 'ok', 'error']) assert.ok(key in event.data, `disk_action has ${key}`);
	}
	const complete = timeline.find(e => e.type === 'disk_prune_complete')!;
	assert.deepEqual([complete.data['freedBytes'], complete.data['before'], complete.data['after']], [json.freedBytes, json.before, json.after]);
	assert.ok(timeline.some(e => e.type === 'step_status' && e.step === 'disk' && e.data['status'] === 'done'));
});

test('named on purpose: the anonymous volume (--volume) and the runaway log (tail saved, then truncated)', async () => {
	const logPath = await docker('inspect', '--format', '{{.LogPath}}', `${prefix}-chatty`);
	const result = await cli(['disk', 'prune', '--yes', '--json', '--volume', anonVolume.slice(0, 12), `log:${prefix}-chatty`]);
	assert.equal(result.exitCode, 0, result.stderr || result.stdout.slice(result.stdout.indexOf('"results"')));
	const json = JSON.parse(result.stdout) as {results: DiskActionResult[]};
	assert.deepEqual(json.results.map(r => r.action), ['remove-volume', 'truncate-log']);
	assert.equal(await exists('volume', anonVolume), false);
	const truncated = json.results[1]!;
	assert.ok(truncated.ok, truncated.error ?? '');
	assert.ok((await stat(logPath)).size < mib, 'the log was emptied in place');
	assert.ok(await exists('container', `${prefix}-chatty`), 'the container still runs');
	const saved = gunzipSync(await readFile(truncated.saved!.file)).toString('utf8').trim().split('\n');
	assert.equal(saved.length, 10_000);
	assert.match(saved.at(-1)!, /LAST-LINE/);
	assert.match(truncated.saved!.file, new RegExp(`/incidents/.*/evidence/disk/${prefix}-chatty-.*\\.json\\.log\\.gz$`));
	assert.ok(await exists('volume', dbVolume));
});

test('no volume prune request ever reached the engine (API 1.41), and nothing outside the test was touched', () => {
	assert.ok(proxy.requests.some(r => /^GET .*\/system\/df/.test(r)), 'the proxy saw the CLI');
	assert.ok(proxy.requests.some(r => /^DELETE .*\/volumes\/[0-9a-f]{64}/.test(r)), 'the volume went by name');
	assert.deepEqual(proxy.requests.filter(r => /\/volumes\/prune/.test(r)), []);
	assert.deepEqual(proxy.requests.filter(r => /\/prune/.test(r)), [], 'no prune endpoint at all (no build cache here)');
	assert.deepEqual(proxy.refused, []);
});

test('a rollback to the last known good then works with the registry stopped', async () => {
	await stopRegistry();
	assert.equal(await fetch(`http://${repo.split('/')[0]}/v2/`).then(() => true, () => false), false, 'the registry is down');
	const result = await runCli(['rollback', '--yes', '--project-dir', stack.dir, '--state-dir', stateDir], {timeoutMs: 120_000});
	assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
	const web = await docker('inspect', '--format', '{{.Image}}', `${stack.projectName}-web-1`);
	assert.equal(web, releases['v1.3.9']!.id);
});
