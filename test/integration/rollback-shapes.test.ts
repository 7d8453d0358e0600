// The two other ways a Compose file names its release, on the real engine and registry:
// literal tags (pinned in the Compose file's own image line, or in an override we write) and
// one variable per service holding the whole reference by digest (three repositories). Each
// story: a crash-looping release is rolled back to the last known good by `rollback --yes`,
// then by `--to` a tag (and a digest), every release service runs the target digest, a plain
// `docker compose up -d` keeps it, and the files change by the image lines only.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {pathToFileURL} from 'node:url';
import {promisify} from 'node:util';
import {runCli} from '../support/cli.js';
import {docker, registryDigest} from '../support/release-repo.js';
import {ensureTestReleases, freePort, parsePs, ROOT, TEST_REPO} from '../support/stack.js';

const execFileAsync = promisify(execFile);
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'shapes');
/** One repository per service for shape 2: stable names, so the images are built once per machine. */
const SERVICE_REPOS = {api: '127.0.0.1:5000/rct-shapes/api', worker: '127.0.0.1:5000/rct-shapes/worker', web: '127.0.0.1:5000/rct-shapes/web'};
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-shapes-state-'));

interface Project {
	name: string;
	dir: string;
	files(): Record<string, string>;
	/** A plain `docker compose` in the project's directory, as anyone on the box would type it. */
	compose(args: string[]): Promise<string>;
	cli(args: string[]): ReturnType<typeof runCli>;
	/** Per service: the repo digests of the image its container runs. */
	running(): Promise<Record<string, {state: string; health: string; repoDigests: string[]}>>;
	down(): Promise<void>;
}

// Variables of the test runner's environment that would beat the project's .env.
const SHADOWING = ['IMAGE_TAG', 'API_IMAGE', 'WORKER_IMAGE', 'WEB_IMAGE', 'WEB_PORT', 'API_PORT', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME'];
const cleanEnv = () => {
	const env = {...process.env};
	for (const key of SHADOWING) delete env[key];
	return env;
};

function makeProject(files: Record<string, string>): Project {
	const name = `rct-${randomBytes(4).toString('hex')}`;
	const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-`));
	for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text.replaceAll('PROJECT_NAME', name));
	const compose = async (args: string[]) => (await execFileAsync('docker', ['compose', ...args], {cwd: dir, env: cleanEnv(), maxBuffer: 16 << 20, timeout: 180_000})).stdout;
	return {
		name,
		dir,
		files: () => Object.fromEntries(readdirSync(dir).map(f => [f, readFileSync(path.join(dir, f), 'utf8')])),
		compose,
		cli: args => runCli([...args, '--project-dir', dir, '--state-dir', stateDir], {timeoutMs: 150_000, env: cleanEnv()}),
		async running() {
			const result: Record<string, {state: string; health: string; repoDigests: string[]}> = {};
			for (const p of parsePs(await compose(['ps', '--all', '--format', 'json']))) {
				const image = (await docker(['inspect', '-f', '{{.Image}}', String(p.Name)])).trim();
				const repoDigests = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .RepoDigests}}', image])) as string[];
				result[p.Service] = {state: p.State, health: p.Health ?? '', repoDigests};
			}
			return result;
		},
		async down() {
			await compose(['down', '-v', '--remove-orphans', '--timeout', '2']).catch(() => '');
			rmSync(dir, {recursive: true, force: true});
		},
	};
}

/** Lines of `after` that differ from `before` (same line count expected: an edit in place). */
function changedLines(before: string, after: string): Array<[string, string]> {
	const a = before.split('\n');
	const b = after.split('\n');
	assert.equal(b.length, a.length, 'the edit keeps the line count');
	return a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]!] as [string, string]]));
}

async function assertRuns(project: Project, expected: Record<string, string>): Promise<void> {
	const running = await project.running();
	for (const [service, reference] of Object.entries(expected)) {
		assert.ok(running[service], `${service} has a container`);
		assert.ok(running[service].repoDigests.includes(reference), `${service} runs ${reference}, not ${running[service].repoDigests.join(', ')}`);
		assert.equal(running[service].state, 'running', `${service} runs`);
	}
}

const failMessage = (r: {stdout: string; stderr: string}) => `${r.stderr}\n${r.stdout}`;

before(async () => {
	const href = pathToFileURL(path.join(ROOT, 'scripts', 'images.mjs')).href;
	const images = (await import(href)) as {ensureReleases(repo: string, specs: string[], options: {distinct?: boolean; log?: (l: string) => void}): Promise<unknown>};
	await ensureTestReleases();
	for (const repo of Object.values(SERVICE_REPOS)) {
		await images.ensureReleases(repo, ['v1.3.8', 'v1.3.9', 'v1.4.0:broken'], {distinct: true, log: line => process.stderr.write(`# ${line}\n`)});
	}
});

after(() => rmSync(stateDir, {recursive: true, force: true}));

describe('shape 1: literal tags, pinned in the Compose file itself when the override is not ours', () => {
	let project: Project;
	const digests: Record<string, string> = {};
	before(async () => {
		for (const tag of ['v1.3.8', 'v1.3.9']) digests[tag] = (await registryDigest(TEST_REPO, tag))!;
		const template = readFileSync(path.join(FIXTURES, 'literal', 'compose.yaml'), 'utf8');
		project = makeProject({
			'compose.yaml': template.replace('TEST_REPO:v1.3.9', `${TEST_REPO}:v1.3.8`),
			// The operator's own override: compose loads it, and it is not ours to replace.
			'compose.override.yaml': `# operator's tweaks\nservices:\n  worker:\n    environment:\n      EXTRA: kept\n`,
			'.env': `COMPOSE_PROJECT_NAME=PROJECT_NAME\nWEB_PORT=${await freePort()}\n`,
		});
		await project.compose(['up', '-d', '--wait', '--wait-timeout', '60']);
	});
	after(() => project?.down());

	test('history finds web and worker as release services (their repository has several tags), not the base image', async () => {
		const result = await project.cli(['history', '--json']);
		assert.equal(result.exitCode, 0, failMessage(result));
		const h = JSON.parse(result.stdout) as {shape: string; releaseServices: string[]; why: Record<string, string>; current: string};
		assert.equal(h.shape, 'literal');
		assert.deepEqual(h.releaseServices, ['web', 'worker']);
		assert.match(h.why['web']!, /literal tag; .* has \d+ release tags/);
		assert.equal(h.current, 'v1.3.8');
		const text = await project.cli(['history']);
		assert.match(text.stdout, /release: literal tags in the Compose file/);
	});

	test('deploy, a crash-looping literal release, rollback --yes: the anchor line alone changes, comments and anchors kept', async () => {
		const deployed = await project.cli(['deploy', '--to', 'v1.3.9', '--yes']);
		assert.equal(deployed.exitCode, 0, failMessage(deployed));
		const good = project.files()['compose.yaml']!;
		assert.match(good, new RegExp(`&release-image "${TEST_REPO}:v1\\.3\\.9@${digests['v1.3.9']}"`));

		// The bad release arrives the way the runbook's deploys do: the tag edited, a plain up.
		writeFileSync(path.join(project.dir, 'compose.yaml'), good.replace(/:v1\.3\.9@sha256:[0-9a-f]{64}/, ':v1.4.0'));
		await project.compose(['up', '-d']);
		const before = project.files();

		const result = await project.cli(['rollback', '--yes']);
		assert.equal(result.exitCode, 0, failMessage(result));
		assert.match(result.stdout, /Last known good release: v1\.3\.9/);
		assert.match(result.stdout, /Release: literal tags in the Compose file/);
		assert.match(result.stdout, /Durable change: .*compose\.yaml \(previous kept as compose\.yaml\.bak-.*\), written before the pull/);
		const afterFiles = project.files();
		assert.deepEqual(changedLines(before['compose.yaml']!, afterFiles['compose.yaml']!), [
			[
				`x-release-image: &release-image "${TEST_REPO}:v1.4.0"   # the release everyone runs`,
				`x-release-image: &release-image "${TEST_REPO}:v1.3.9@${digests['v1.3.9']}"   # the release everyone runs`,
			],
		]);
		assert.equal(afterFiles['compose.override.yaml'], before['compose.override.yaml'], "the operator's override is untouched");
		assert.equal(afterFiles['.env'], before['.env']);
		const backup = Object.keys(afterFiles).find(f => f.startsWith('compose.yaml.bak-') && afterFiles[f] === before['compose.yaml']);
		assert.ok(backup, 'the previous compose.yaml is kept beside it');

		const expected = {web: `${TEST_REPO}@${digests['v1.3.9']}`, worker: `${TEST_REPO}@${digests['v1.3.9']}`};
		await assertRuns(project, expected);
		assert.equal((await project.running())['cache']?.state, 'running', 'the base image service is left alone');
		await project.compose(['up', '-d']);
		await assertRuns(project, expected);
	});

	test('rollback --to a tag pins that release the same way', async () => {
		const before = project.files()['compose.yaml']!;
		const result = await project.cli(['rollback', '--to', 'v1.3.8', '--yes']);
		assert.equal(result.exitCode, 0, failMessage(result));
		const changed = changedLines(before, project.files()['compose.yaml']!);
		assert.equal(changed.length, 1);
		assert.match(changed[0]![1], new RegExp(`"${TEST_REPO}:v1\\.3\\.8@${digests['v1.3.8']}"   # the release everyone runs$`));
		await assertRuns(project, {web: `${TEST_REPO}@${digests['v1.3.8']}`, worker: `${TEST_REPO}@${digests['v1.3.8']}`});
		await project.compose(['up', '-d']);
		await assertRuns(project, {web: `${TEST_REPO}@${digests['v1.3.8']}`, worker: `${TEST_REPO}@${digests['v1.3.8']}`});
	});

	test('rollback --to sha256:… pins that image by its recorded tag', async () => {
		const result = await project.cli(['rollback', '--to', digests['v1.3.9']!, '--yes']);
		assert.equal(result.exitCode, 0, failMessage(result));
		assert.match(project.files()['compose.yaml']!, new RegExp(`&release-image "${TEST_REPO}:v1\\.3\\.9@${digests['v1.3.9']}"   # the release everyone runs`));
		await assertRuns(project, {web: `${TEST_REPO}@${digests['v1.3.9']}`, worker: `${TEST_REPO}@${digests['v1.3.9']}`});
	});
});

describe('shape 1: literal tags pinned in the override compose loads by itself', () => {
	let project: Project;
	let compose = '';
	before(async () => {
		compose = readFileSync(path.join(FIXTURES, 'literal', 'compose.yaml'), 'utf8').replace('TEST_REPO:v1.3.9', `${TEST_REPO}:v1.3.8`);
		project = makeProject({'compose.yaml': compose, '.env': `COMPOSE_PROJECT_NAME=PROJECT_NAME\nWEB_PORT=${await freePort()}\n`});
		await project.compose(['up', '-d', '--wait', '--wait-timeout', '60']);
	});
	after(() => project?.down());

	test('deploy, a crash-looping deploy, rollback --yes: compose.yaml untouched, the override pins the last known good', async () => {
		const deployed = await project.cli(['deploy', '--to', 'v1.3.9', '--yes']);
		assert.equal(deployed.exitCode, 0, failMessage(deployed));
		const bad = await project.cli(['deploy', '--to', 'v1.4.0', '--yes']);
		assert.equal(bad.exitCode, 3, failMessage(bad));

		const result = await project.cli(['rollback', '--yes']);
		assert.equal(result.exitCode, 0, failMessage(result));
		assert.match(result.stdout, /Last known good release: v1\.3\.9/);
		const files = project.files();
		assert.equal(files['compose.yaml'], compose, 'the Compose file is not edited');
		const digest = (await registryDigest(TEST_REPO, 'v1.3.9'))!;
		assert.match(files['compose.override.yaml']!, /^# Written by rollback-console/);
		assert.match(files['compose.override.yaml']!, new RegExp(`  web:\\n    image: ${TEST_REPO}:v1\\.3\\.9@${digest}\\n  worker:\\n    image: ${TEST_REPO}:v1\\.3\\.9@${digest}\\n$`));
		await assertRuns(project, {web: `${TEST_REPO}@${digest}`, worker: `${TEST_REPO}@${digest}`});
		await project.compose(['up', '-d']);
		await assertRuns(project, {web: `${TEST_REPO}@${digest}`, worker: `${TEST_REPO}@${digest}`});
	});
});

describe('shape 2: one variable per service holding the whole reference by digest, three repositories', () => {
	let project: Project;
	const digests: Record<string, Record<string, string>> = {};
	const envLines = (tag: string, withTag: boolean) =>
		Object.entries(SERVICE_REPOS)
			.map(([service, repo]) => `${service.toUpperCase()}_IMAGE=${repo}${withTag ? `:${tag}` : ''}@${digests[service]![tag]}`)
			.join('\n');
	before(async () => {
		for (const [service, repo] of Object.entries(SERVICE_REPOS)) {
			digests[service] = {};
			for (const tag of ['v1.3.8', 'v1.3.9', 'v1.4.0']) digests[service][tag] = (await registryDigest(repo, tag))!;
		}
		assert.notEqual(digests['api']!['v1.3.9'], digests['web']!['v1.3.9'], 'the repositories hold different images');
		project = makeProject({
			'compose.yaml': readFileSync(path.join(FIXTURES, 'image-variables', 'compose.yaml'), 'utf8'),
			'.env': `# written by the deploy job\nCOMPOSE_PROJECT_NAME=PROJECT_NAME\nAPI_PORT=${await freePort()}\nWEB_PORT=${await freePort()}\n${envLines('v1.3.8', false)}\nOTHER=keep-me\n`,
		});
		await project.compose(['up', '-d', '--wait', '--wait-timeout', '60']);
	});
	after(() => project?.down());

	const runs = (tag: string) => Object.fromEntries(Object.entries(SERVICE_REPOS).map(([service, repo]) => [service, `${repo}@${digests[service]![tag]}`]));

	test('history finds api, worker and web by their image variables; the digest-only release is known by its tag', async () => {
		const result = await project.cli(['history', '--json']);
		assert.equal(result.exitCode, 0, failMessage(result));
		const h = JSON.parse(result.stdout) as {shape: string; releaseServices: string[]; why: Record<string, string>; current: string; repositories: string[]};
		assert.equal(h.shape, 'image-variable');
		assert.deepEqual(h.releaseServices, ['api', 'web', 'worker']);
		assert.equal(h.why['api'], 'its whole image is ${API_IMAGE}');
		assert.deepEqual(h.repositories, Object.values(SERVICE_REPOS).sort());
		assert.equal(h.current, 'v1.3.8');
	});

	test('deploy, a crash-looping release, rollback --yes: the three variables alone change in .env', async () => {
		const deployed = await project.cli(['deploy', '--to', 'v1.3.9', '--yes']);
		assert.equal(deployed.exitCode, 0, failMessage(deployed));
		// The bad release, the way CI writes it: digests in .env, then a plain up.
		const env = project.files()['.env']!;
		writeFileSync(path.join(project.dir, '.env'), env.replace(/^(API|WORKER|WEB)_IMAGE=.*$/gm, line => envLines('v1.4.0', false).split('\n').find(l => l.startsWith(line.split('=')[0]!))!));
		await project.compose(['up', '-d']);
		const before = project.files()['.env']!;

		const result = await project.cli(['rollback', '--yes']);
		assert.equal(result.exitCode, 0, failMessage(result));
		assert.match(result.stdout, /Last known good release: v1\.3\.9/);
		assert.match(result.stdout, /Release: one variable per service holding the whole image reference/);
		const after = project.files()['.env']!;
		assert.deepEqual(
			changedLines(before, after).map(([, now]) => now).sort(),
			envLines('v1.3.9', true).split('\n').sort(),
			'each variable is set to repo:tag@sha256:…, nothing else changes',
		);
		assert.ok(Object.entries(project.files()).some(([f, text]) => f.startsWith('.env.bak-') && text === before), 'the previous .env is kept');
		await assertRuns(project, runs('v1.3.9'));
		await project.compose(['up', '-d']);
		await assertRuns(project, runs('v1.3.9'));
	});

	test('rollback --to a tag, then --to sha256:… of one service brings the whole release it belongs to', async () => {
		const byTag = await project.cli(['rollback', '--to', 'v1.3.8', '--yes']);
		assert.equal(byTag.exitCode, 0, failMessage(byTag));
		await assertRuns(project, runs('v1.3.8'));

		const byDigest = await project.cli(['rollback', '--to', digests['worker']!['v1.3.9']!, '--yes']);
		assert.equal(byDigest.exitCode, 0, failMessage(byDigest));
		await assertRuns(project, runs('v1.3.9'));
		assert.match(project.files()['.env']!, new RegExp(`^WEB_IMAGE=${SERVICE_REPOS.web}:v1\\.3\\.9@${digests['web']!['v1.3.9']}$`, 'm'));
		assert.match(project.files()['.env']!, /^OTHER=keep-me$/m);
		await project.compose(['up', '-d']);
		await assertRuns(project, runs('v1.3.9'));
	});

	test('a deployment whose services run different tags is recorded as one set, and --to brings that set back', async () => {
		// CI moved api back alone, by digest.
		const mixed = {...runs('v1.3.9'), api: `${SERVICE_REPOS.api}@${digests['api']!['v1.3.8']}`};
		const env = project.files()['.env']!.replace(/^API_IMAGE=.*$/m, `API_IMAGE=${mixed.api}`);
		writeFileSync(path.join(project.dir, '.env'), env);
		await project.compose(['up', '-d', '--wait', '--wait-timeout', '60']);
		const deployed = await project.cli(['deploy', '--to', 'v1.3.9', '--yes']);
		assert.equal(deployed.exitCode, 0, failMessage(deployed));
		const set = /Deploy \S+: (set-[0-9a-f]{12}) → v1\.3\.9/.exec(deployed.stdout)?.[1];
		assert.ok(set, deployed.stdout);
		await assertRuns(project, runs('v1.3.9'));

		const h = JSON.parse((await project.cli(['history', '--json'])).stdout) as {candidates: Array<{tag: string}>; records: Array<{tag: string; event: string; images?: Record<string, {tag: string}>}>};
		assert.ok(h.candidates.some(c => c.tag === set), 'the set is a candidate');
		// Recorded when the deploy replaced it: by its preflight (found healthy), else as seen.
		const seen = h.records.find(r => r.tag === set && (r.event === 'preflight' || r.event === 'seen'))!;
		assert.deepEqual(Object.fromEntries(Object.entries(seen.images!).map(([s, i]) => [s, i.tag])), {api: 'v1.3.8', web: 'v1.3.9', worker: 'v1.3.9'});

		const back = await project.cli(['rollback', '--to', set, '--yes']);
		assert.equal(back.exitCode, 0, failMessage(back));
		await assertRuns(project, mixed);
		assert.match(project.files()['.env']!, new RegExp(`^API_IMAGE=${SERVICE_REPOS.api}:v1\\.3\\.8@${digests['api']!['v1.3.8']}$`, 'm'));
	});
});

describe('ambiguous projects: one line saying what to set, exit 2, nothing changed', () => {
	const cases: Array<[string, string, RegExp]> = [
		[
			'a variable used outside any image',
			`services:\n  web:\n    image: ${TEST_REPO}:\${IMAGE_TAG}\n    environment:\n      VERSION: \${IMAGE_TAG}\n`,
			/used outside any image.*x-rollback-console\.release\.variable/,
		],
		[
			'two variables for one service',
			`services:\n  web:\n    image: \${REGISTRY}/rct/app:\${APP_TAG}\n`,
			/uses 2 variables.*set x-rollback-console\.release\.variable/,
		],
		[
			'a literal image with a single tag everywhere',
			`services:\n  web:\n    image: 127.0.0.1:5000/rct-shapes/lonely:v1.0.0\n  db:\n    image: postgres:15\n`,
			/single tag here and in the registry; set x-rollback-console\.release\.services/,
		],
	];
	for (const [name, compose, message] of cases) {
		test(name, async () => {
			const project = makeProject({'compose.yaml': compose, '.env': 'IMAGE_TAG=v1.3.9\nREGISTRY=127.0.0.1:5000\nAPP_TAG=v1.3.9\n'});
			try {
				const before = project.files();
				const result = await project.cli(['rollback', '--yes']);
				assert.equal(result.exitCode, 2, failMessage(result));
				const lines = result.stderr.trim().split('\n');
				assert.equal(lines.length, 1, result.stderr);
				assert.match(lines[0]!, message);
				assert.deepEqual(project.files(), before, 'nothing changed');
				assert.equal(parsePs(await project.compose(['ps', '--all', '--format', 'json'])).length, 0, 'nothing started');
			} finally {
				await project.down();
			}
		});
	}
});

describe('GitHub releases join the candidates when x-rollback-console.release.github names the repository', () => {
	let server: Server;
	let project: Project;
	before(async () => {
		server = createServer((req, res) => {
			if (req.url?.startsWith('/repos/org/app/releases')) {
				res.setHeader('content-type', 'application/json');
				res.end(
					JSON.stringify([
						{tag_name: 'v1.5.0', name: 'v1.5.0', published_at: '2026-11-20T09:00:00Z', body: 'Faster checkout\n\nDetails'},
						{tag_name: 'v1.3.9', name: 'v1.3.9', published_at: '2026-11-01T09:00:00Z', body: '## Fix the cart total'},
					]),
				);
			} else res.writeHead(404).end();
		});
		await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
		project = makeProject({
			'compose.yaml': `x-rollback-console:\n  release: {github: org/app}\nservices:\n  web:\n    image: ${TEST_REPO}:v1.4.0\n    network_mode: host\n`,
		});
	});
	after(async () => {
		server?.close();
		await project?.down();
	});

	test('history lists them with their date and first line, sorted by SemVer with the registry tags', async () => {
		const env = {ROLLBACK_CONSOLE_GITHUB_API: `http://127.0.0.1:${(server.address() as AddressInfo).port}`};
		const run = (args: string[]) => runCli([...args, '--project-dir', project.dir, '--state-dir', stateDir], {timeoutMs: 60_000, env: {...cleanEnv(), ...env}});
		const json = await run(['history', '--json']);
		assert.equal(json.exitCode, 0, failMessage(json));
		const h = JSON.parse(json.stdout) as {candidates: Array<{tag: string; registry: {present: boolean}; github?: {note: string | null} | null}>; githubError: string | null};
		assert.equal(h.githubError, null);
		const tags = h.candidates.map(c => c.tag);
		assert.deepEqual(tags.slice(0, 3), ['v1.5.0', 'v1.4.0', 'v1.3.9']);
		assert.equal(h.candidates[0]!.registry.present, false, 'v1.5.0 is a GitHub release with no image yet');
		assert.equal(h.candidates.find(c => c.tag === 'v1.3.9')!.github?.note, 'Fix the cart total');
		const text = await run(['history']);
		assert.match(text.stdout, /GITHUB RELEASE/);
		assert.match(text.stdout, /v1\.3\.9 .*2026-11-01 Fix the cart total/);
	});
});
