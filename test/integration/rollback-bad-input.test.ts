// Every bad input to `rollback`: one line on stderr, exit 2, and nothing changed — the
// project's .env byte for byte, the containers, and no lock left behind.
import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {oneLine, runCli} from '../support/cli.js';
import {buildUnique, docker, newRepo, registryDigest, removeLocalImages, useRepo} from '../support/release-repo.js';
import {createStack, ensureTestReleases, freePort, TEST_REPO, type Stack} from '../support/stack.js';

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-bad-input-state-'));
let stack: Stack;
// A repository that exists only in the registry (and on this box): its digest is not rct/app's.
const otherRepo = newRepo();
let otherDigest = '';

before(async () => {
	await ensureTestReleases();
	[stack] = await Promise.all([
		createStack({tag: 'v1.3.9', withDb: false}),
		buildUnique(otherRepo, 'v2.0.0').then(async () => {
			otherDigest = (await registryDigest(otherRepo, 'v2.0.0'))!;
		}),
	]);
	await stack.up({wait: true});
});

after(async () => {
	await stack?.down();
	await removeLocalImages(otherRepo);
	rmSync(stateDir, {recursive: true, force: true});
});

interface Snapshot {
	env: Buffer;
	containers: string;
}

async function snapshot(s: Stack): Promise<Snapshot> {
	const containers = (await docker(['ps', '-a', '--no-trunc', '--filter', `label=com.docker.compose.project=${s.projectName}`, '--format', '{{.ID}} {{.Image}} {{.CreatedAt}}']))
		.split('\n')
		.sort()
		.join('\n');
	return {env: readFileSync(path.join(s.dir, '.env')), containers};
}

/** Runs `rollback ARGS` and checks: exit 2, one line matching `message`, nothing changed. */
async function refused(s: Stack, args: string[], message: RegExp): Promise<string> {
	const before = await snapshot(s);
	const result = await runCli(['rollback', ...args, '--project-dir', s.dir, '--state-dir', stateDir]);
	assert.equal(result.exitCode, 2, `exit code (stdout: ${result.stdout})`);
	const line = oneLine(result.stderr);
	assert.match(line, message);
	const after = await snapshot(s);
	assert.ok(after.env.equals(before.env), '.env unchanged, byte for byte');
	assert.equal(after.containers, before.containers, 'the same containers, not recreated');
	assert.equal(existsSync(path.join(stateDir, s.projectName, 'lock')), false, 'no lock left behind');
	return line;
}

describe('rollback refuses bad input and changes nothing', () => {
	test('a tag with shell metacharacters', async () => {
		await refused(stack, ['--to', 'v1.3.8; rm -rf /', '--yes'], /^rollback-console: --to "v1\.3\.8; rm -rf \/": not a tag or sha256 digest/);
		await refused(stack, ['--to', '$(touch /tmp/rc-pwned)', '--yes'], /not a tag or sha256 digest/);
		await refused(stack, ['--to', 'v1.3.8`id`', '--yes'], /not a tag or sha256 digest/);
		assert.equal(existsSync('/tmp/rc-pwned'), false);
	});

	test('a malformed digest', async () => {
		await refused(stack, ['--to', 'sha256:abc', '--yes'], /a digest is sha256: and 64 lowercase hex digits/);
	});

	test('a tag that is neither in the registry nor on this box', async () => {
		await refused(stack, ['--to', 'v9.9.9', '--yes'], /v9\.9\.9 does not exist: 127\.0\.0\.1:5000\/rct\/app:v9\.9\.9 is neither in the registry nor on this box/);
	});

	test('a digest that is nowhere', async () => {
		await refused(stack, ['--to', `sha256:${'0'.repeat(64)}`, '--yes'], /does not exist: .* is neither in the registry nor on this box/);
	});

	test('a digest of another repository', async () => {
		const line = await refused(stack, ['--to', otherDigest, '--yes'], /is a digest of /);
		assert.ok(line.includes(`${otherDigest} is a digest of ${otherRepo}, not of ${TEST_REPO}`), line);
	});

	test('the current release as the target', async () => {
		await refused(stack, ['--to', 'v1.3.9', '--yes'], /v1\.3\.9 is the current release: web, worker already run it/);
	});

	test('no terminal and no --yes', async () => {
		const line = await refused(stack, ['--to', 'v1.3.8'], /no terminal to confirm on; pass --yes/);
		assert.match(line, /^rollback-console: rollback refused/);
	});

	test('no --to and nothing verified yet: no last known good', async () => {
		await refused(stack, ['--yes'], /no last known good release: nothing older than v1\.3\.9 was verified/);
	});
});

describe('a registry that does not answer', () => {
	// The stack's images name a registry on a port where nothing listens; the box has some tags.
	let down: Stack;
	let downRepo = '';

	before(async () => {
		downRepo = newRepo(`127.0.0.1:${await freePort()}`);
		for (const tag of ['v1.3.9', 'v1.3.8']) await docker(['tag', `${TEST_REPO}:${tag}`, `${downRepo}:${tag}`]);
		down = await createStack({tag: 'v1.3.9', withDb: false});
		await useRepo(down, downRepo);
		await down.up({wait: true});
	});

	after(async () => {
		await down?.down();
		await removeLocalImages(downRepo);
	});

	test('and the target is not on this box: refused, nothing changed', async () => {
		await refused(down, ['--to', 'v1.3.7', '--yes'], /registry 127\.0\.0\.1:\d+ does not answer \(connection refused\), and .*:v1\.3\.7 is not on this box/);
	});

	test('and the target is on this box: rolled back from the local image, the pull skipped and said so', async () => {
		const result = await runCli(['rollback', '--to', 'v1.3.8', '--yes', '--project-dir', down.dir, '--state-dir', stateDir], {timeoutMs: 120_000});
		assert.equal(result.exitCode, 0, result.stderr + result.stdout);
		assert.match(result.stdout, /skipping the pull: registry 127\.0\.0\.1:\d+ does not answer \(connection refused\): rolling back from the local image/);
		assert.match(result.stdout, /\(skipped\) IMAGE_TAG=v1\.3\.8 docker compose .* pull --policy always web worker/);
		assert.match(readFileSync(path.join(down.dir, '.env'), 'utf8'), /^IMAGE_TAG=v1\.3\.8$/m);
		const image = (await docker(['inspect', '-f', '{{.Config.Image}}', `${down.projectName}-web-1`])).trim();
		assert.equal(image, `${downRepo}:v1.3.8`);
	});
});
