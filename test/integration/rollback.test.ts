// The Stabilise step's main story on the real engine and registry: a stack deployed from
// v1.3.9 to a crash-looping v1.4.0 is rolled back to the last known good, pulled from the
// registry after the local image was removed; then the same after v1.3.9 was re-pushed.
import assert from 'node:assert/strict';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {runCli} from '../support/cli.js';
import {buildRelease, buildUnique, docker, newRepo, registryDigest, removeLocalImages, useRepo} from '../support/release-repo.js';
import {createStack, parsePs, type Stack} from '../support/stack.js';

const repo = newRepo();
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-rollback-state-'));
let stack: Stack;

before(async () => {
	// v1.3.9 is unique to this repository, so removing it locally really removes it.
	await Promise.all([buildRelease(repo, 'v1.3.8'), buildUnique(repo, 'v1.3.9')]);
	await buildRelease(repo, 'v1.4.0', true);
	stack = await createStack({tag: 'v1.3.8'});
	await useRepo(stack, repo);
	await stack.up({wait: true});
});

after(async () => {
	await stack?.down();
	await removeLocalImages(repo);
	rmSync(stateDir, {recursive: true, force: true});
});

const cli = (args: string[]) => runCli([...args, '--project-dir', stack.dir, '--state-dir', stateDir], {timeoutMs: 120_000});

async function history() {
	const result = await cli(['history', '--json']);
	assert.equal(result.exitCode, 0, result.stderr);
	return JSON.parse(result.stdout) as {
		current: string | null;
		lastKnownGood: string | null;
		lock: {state: string};
		candidates: Array<{tag: string; verified: boolean; lastKnownGood: boolean; registry: {digest: string | null}; repushed: boolean}>;
		records: Array<{event: string; tag: string; digests: Record<string, string | null>}>;
	};
}

async function running(): Promise<Array<{service: string; image: string; state: string; health: string}>> {
	const ps = parsePs((await stack.compose(['ps', '--format', 'json'])).stdout);
	return Promise.all(
		ps.map(async p => {
			const image = (await docker(['inspect', '-f', '{{.Config.Image}}', String(p.Name)])).trim();
			return {service: p.Service, image, state: p.State, health: p.Health ?? ''};
		}),
	);
}

const envFile = () => readFileSync(path.join(stack.dir, '.env'), 'utf8');

function timeline(): Array<{type: string; data: Record<string, unknown>}> {
	const incidents = path.join(stateDir, stack.projectName, 'incidents');
	const [id] = readdirSync(incidents);
	return readFileSync(path.join(incidents, id!, 'timeline.jsonl'), 'utf8')
		.trim()
		.split('\n')
		.map(line => JSON.parse(line));
}

test('deploy records the release; a healthy deploy is verified', async () => {
	const result = await cli(['deploy', '--to', 'v1.3.9', '--yes']);
	assert.equal(result.exitCode, 0, result.stderr + result.stdout);
	assert.match(result.stdout, /Deployed \S+ to v1\.3\.9/);
	const h = await history();
	assert.equal(h.current, 'v1.3.9');
	assert.ok(h.candidates.find(c => c.tag === 'v1.3.9')?.verified);
	// The release it replaced, found running and healthy by the preflight; then the new one.
	assert.deepEqual(
		h.records.map(r => `${r.event} ${r.tag}`),
		['preflight v1.3.8', 'deployed v1.3.9', 'verified v1.3.9'],
	);
});

test('a crash-looping deploy fails (exit 3) with compose\'s message and the failing service\'s last log lines, and is not verified', async () => {
	const result = await cli(['deploy', '--to', 'v1.4.0', '--yes', '--json']);
	assert.equal(result.exitCode, 3, result.stderr);
	const {result: run} = JSON.parse(result.stdout) as {result: {success: boolean; message: string; failedService: string; logs: string[]}};
	assert.equal(run.success, false);
	assert.match(run.message, /web/);
	assert.equal(run.failedService, 'web');
	assert.ok(run.logs.length > 0 && run.logs.length <= 50);
	assert.ok(run.logs.some(l => /panic: runtime error/.test(l)), run.logs.join('\n'));
	const h = await history();
	assert.equal(h.current, 'v1.4.0');
	assert.equal(h.lastKnownGood, 'v1.3.9');
	assert.equal(h.candidates.find(c => c.tag === 'v1.4.0')?.verified, false);
});

test('rollback --yes goes to the last known good, pulling it after the local image was removed; durable, recorded', async () => {
	await docker(['rmi', `${repo}:v1.3.9`]);
	await assert.rejects(docker(['image', 'inspect', `${repo}:v1.3.9`]), 'the local v1.3.9 image is gone');
	const envBefore = envFile();

	const result = await cli(['rollback', '--yes']);
	assert.equal(result.exitCode, 0, result.stderr + result.stdout);
	assert.match(result.stdout, /Last known good release: v1\.3\.9/);
	assert.match(result.stdout, /web\s+v1\.4\.0 .*→ v1\.3\.9 .*to pull/);
	assert.match(result.stdout, /IMAGE_TAG=v1\.3\.9 docker compose .* pull --policy always web worker/);
	assert.match(result.stdout, /-IMAGE_TAG=v1\.4\.0\n\s*\+IMAGE_TAG=v1\.3\.9/);
	assert.match(result.stdout, /Pull(ed|ing)/, 'compose pulled it');
	assert.match(result.stdout, /Rolled back \S+ to v1\.3\.9/);
	await docker(['image', 'inspect', `${repo}:v1.3.9`]);

	for (const s of await running()) {
		assert.equal(s.state, 'running', `${s.service} runs`);
		if (s.service !== 'db') assert.equal(s.image, `${repo}:v1.3.9`);
		if (s.service === 'web' || s.service === 'db') assert.equal(s.health, 'healthy');
	}
	// Every release service runs the registry's v1.3.9 digest.
	const digest = await registryDigest(repo, 'v1.3.9');
	for (const s of await running()) {
		if (s.service === 'db') continue;
		const id = (await docker(['inspect', '-f', '{{.Image}}', `${stack.projectName}-${s.service}-1`])).trim();
		assert.ok((await docker(['image', 'inspect', '-f', '{{json .RepoDigests}}', id])).includes(`${repo}@${digest}`), `${s.service} runs ${digest}`);
	}
	// Durable: .env says v1.3.9, keeps every other line, and the previous file is kept.
	const env = envFile();
	const changed = envBefore.split('\n').flatMap((line, i) => (line === env.split('\n')[i] ? [] : [`${line} → ${env.split('\n')[i]}`]));
	assert.deepEqual(changed, ['IMAGE_TAG=v1.4.0 → IMAGE_TAG=v1.3.9'], 'the one line changes');
	assert.match(env, /^IMAGE_TAG=v1\.3\.9$/m);
	assert.match(env, new RegExp(`^COMPOSE_PROJECT_NAME=${stack.projectName}$`, 'm'));
	assert.match(env, new RegExp(`^WEB_PORT=${stack.webPort}$`, 'm'));
	const backups = readdirSync(stack.dir).filter(f => f.startsWith('.env.bak-'));
	assert.ok(backups.some(b => /IMAGE_TAG=v1\.4\.0/.test(readFileSync(path.join(stack.dir, b), 'utf8'))), 'the v1.4.0 .env is kept');

	// Someone else's plain `docker compose up -d` keeps the rollback.
	await stack.compose(['up', '-d']);
	for (const s of await running()) if (s.service !== 'db') assert.equal(s.image, `${repo}:v1.3.9`);

	const events = timeline();
	const start = events.find(e => e.type === 'rollback_start');
	const complete = events.find(e => e.type === 'rollback_complete');
	assert.deepEqual([start?.data['from'], start?.data['to']], ['v1.4.0', 'v1.3.9']);
	assert.equal(complete?.data['success'], true);
	assert.equal(typeof complete?.data['duration'], 'number');
	const commands = events.filter(e => e.type === 'command');
	assert.equal(commands.length, 2);
	assert.deepEqual(commands.map(c => c.data['exit']), [0, 0]);
	assert.ok(commands.every(c => typeof c.data['ms'] === 'number' && Array.isArray(c.data['argv'])));
	const h = await history();
	assert.equal(h.lock.state, 'free', 'the worker let the lock go');
	assert.ok(h.records.some(r => r.event === 'rolled_back' && r.tag === 'v1.4.0'));
});

test('v1.3.9 re-pushed with other content after it was verified: rolling back to it deploys the verified digest', async () => {
	const verified = (await history()).records.findLast(r => r.event === 'verified' && r.tag === 'v1.3.9')!.digests['web']!;
	assert.match(verified, /^sha256:/);
	// Move away from v1.3.9 first (a deploy: rolling back from v1.3.9 would mark it bad).
	const away = await cli(['deploy', '--to', 'v1.3.8', '--yes']);
	assert.equal(away.exitCode, 0, away.stderr + away.stdout);

	await buildRelease(repo, 'v1.3.9', true);
	const repushed = await registryDigest(repo, 'v1.3.9');
	assert.ok(repushed && repushed !== verified, 'the tag now names other content');
	assert.ok((await history()).candidates.find(c => c.tag === 'v1.3.9')?.repushed);

	const result = await cli(['rollback', '--to', 'v1.3.9', '--yes']);
	assert.equal(result.exitCode, 0, result.stderr + result.stdout);
	assert.match(result.stdout, /re-pushed since it was verified/);
	assert.doesNotMatch(result.stdout, /not a verified release/);
	assert.match(envFile(), new RegExp(`^IMAGE_TAG=v1\\.3\\.9@${verified}$`, 'm'));
	for (const s of await running()) {
		if (s.service === 'db') continue;
		assert.equal(s.image, `${repo}:v1.3.9@${verified}`);
		assert.equal(s.state, 'running');
	}
	const digests = (await docker(['inspect', '-f', '{{json .RepoDigests}}', `${repo}@${verified}`])).trim();
	assert.match(digests, new RegExp(verified));
});
