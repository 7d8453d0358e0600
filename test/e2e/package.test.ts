// The single file of `npm run package` on a machine view with no Node at all: a mount namespace
// (unshare --mount) where every `node` on the PATH is bound over by an empty file and this
// repository's node_modules (Bun included) by an empty directory. Inside it the file must
// say its version, read a real stack, capture evidence, roll back through its detached
// worker (the file running itself again) and draw the console's first frame in tmux.
import assert from 'node:assert/strict';
import {execFile, execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {ROOT} from '../support/cli.js';
import {createStack, ensureTestReleases, TEST_REPO, type Stack} from '../support/stack.js';
import {openTerminal, type Terminal} from '../support/tmux.js';

const BINARY = path.join(ROOT, 'release', `rollback-console-linux-${process.arch}`);
const work = mkdtempSync(path.join(os.tmpdir(), 'rc-package-'));
const stateDir = path.join(work, 'state');
const view = path.join(work, 'no-node.sh');
let stack: Stack;
let terminal: Terminal | undefined;

/** Every `node` a process could find: on the PATH, this one, the usual places; real files. */
function nodeBinaries(): string[] {
	const candidates = [
		...(process.env['PATH'] ?? '').split(':').filter(Boolean).map(dir => path.join(dir, 'node')),
		process.execPath,
		'/usr/bin/node',
		'/usr/local/bin/node',
	];
	return [...new Set(candidates.filter(file => existsSync(file)).map(file => realpathSync(file)))];
}

function writeView(): void {
	const empty = path.join(work, 'empty');
	writeFileSync(empty, '');
	const lines = [
		'#!/bin/sh',
		'# Run "$@" where no node can be started and node_modules is empty (a private mount namespace).',
		'set -e',
		...nodeBinaries().map(file => `mount --bind '${empty}' '${file}'`),
		`mount -t tmpfs -o size=1m,mode=0755 rc-no-node-modules '${path.join(ROOT, 'node_modules')}'`,
		'if node --version >/dev/null 2>&1; then echo "no-node view: node still runs" >&2; exit 99; fi',
		'exec "$@"',
	];
	writeFileSync(view, `${lines.join('\n')}\n`);
	chmodSync(view, 0o755);
}

interface Result {
	stdout: string;
	stderr: string;
	exitCode: number;
}

/** Runs `command` inside the view. */
function inView(command: string[], {cwd = stack?.dir ?? work, timeoutMs = 120_000} = {}): Promise<Result> {
	return new Promise(resolve => {
		execFile(
			'unshare',
			['--mount', '--', view, ...command],
			{cwd, env: {...process.env, NO_COLOR: '1'}, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024},
			(error, stdout, stderr) => {
				const code = (error as {code?: unknown} | null)?.code;
				resolve({stdout, stderr, exitCode: error ? (typeof code === 'number' ? code : 1) : 0});
			},
		);
	});
}

const cli = (args: string[]) => inView([BINARY, ...args, '--state-dir', stateDir]);
const sh = (command: string) => execFileSync('sh', ['-c', command], {encoding: 'utf8'});

before(async () => {
	// scripts/test.mjs packages before the suites; run alone, this test packages itself.
	if (process.env['ROLLBACK_CONSOLE_PACKAGED'] !== '1' || !existsSync(BINARY)) {
		execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs')], {cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit']});
	}
	writeView();
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.8'});
	await stack.up({wait: true});
});

after(async () => {
	terminal?.kill();
	await stack?.down();
	rmSync(work, {recursive: true, force: true});
});

test('the release is one executable with its sha256 in SHA256SUMS', () => {
	const sums = readFileSync(path.join(ROOT, 'release', 'SHA256SUMS'), 'utf8');
	const line = sums.split('\n').find(l => l.endsWith(`  ${path.basename(BINARY)}`));
	assert.ok(line, sums);
	assert.equal(line.split('  ')[0], createHash('sha256').update(readFileSync(BINARY)).digest('hex'));
	assert.ok((statSync(BINARY).mode & 0o111) !== 0, 'executable');
	process.stderr.write(`# ${path.basename(BINARY)}: ${(statSync(BINARY).size / 1e6).toFixed(1)} MB\n`);
});

test('the view really has no Node: node fails to start and node_modules is empty', async () => {
	const node = await inView(['sh', '-c', 'node --version']);
	assert.notEqual(node.exitCode, 0, `node ran: ${node.stdout}`);
	const modules = await inView(['ls', '-A', path.join(ROOT, 'node_modules')]);
	assert.equal(modules.exitCode, 0, modules.stderr);
	assert.equal(modules.stdout.trim(), '');
});

test('--version: the version, the commit and the runtime inside', async () => {
	const result = await inView([BINARY, '--version']);
	assert.equal(result.exitCode, 0, result.stderr);
	const {version} = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string};
	const commit = sh(`git -C '${ROOT}' rev-parse --short=12 HEAD`).trim();
	assert.equal(
		result.stdout.trim(),
		`rollback-console ${version} (commit ${commit}${/-dirty/.test(result.stdout) ? '-dirty' : ''}, bun ${/bun (\d+\.\d+\.\d+)/.exec(result.stdout)?.[1]}, single file linux-${process.arch})`,
	);
	assert.match(result.stdout, /bun \d+\.\d+\.\d+/);
});

test('status --json against the real stack', async () => {
	const result = await cli(['status', '--json']);
	assert.equal(result.exitCode, 0, result.stderr);
	const status = JSON.parse(result.stdout) as {project: string; ok: boolean; services: Array<{service: string; state: string; image: {tag: string}}>};
	assert.equal(status.project, stack.projectName);
	assert.equal(status.ok, true);
	assert.deepEqual(status.services.map(s => s.service).sort(), ['db', 'web', 'worker']);
	assert.equal(status.services.find(s => s.service === 'web')?.image.tag, 'v1.3.8');
});

test('a bad deploy: status says so, and the console\'s first frame in tmux names the failing service', async () => {
	await stack.setTag('v1.4.0');
	await stack.up();
	for (let i = 0; i < 100; i++) {
		if (Number(sh(`docker inspect -f '{{.RestartCount}}' ${stack.projectName}-web-1`).trim()) >= 1) break;
		await delay(200);
	}
	const status = await cli(['status', '--json']);
	assert.equal(status.exitCode, 1, status.stderr);
	assert.equal((JSON.parse(status.stdout) as {ok: boolean}).ok, false);

	terminal = openTerminal({columns: 120, rows: 36, env: {CI: 'true'}});
	terminal.run(`exec unshare --mount -- ${view} bash --norc --noprofile`);
	terminal.run(`PS1='$ '; cd ${stack.dir}; node --version || echo NO-NODE-HERE`);
	await terminal.waitFor(screen => /NO-NODE-HERE/.test(screen));
	terminal.run('clear');
	await terminal.waitFor(screen => screen.trim() === '$');
	const start = Date.now();
	terminal.run(`${BINARY} --state-dir ${stateDir}`);
	const frame = await terminal.waitFor(screen => /Services/.test(screen) && /› web\s+(crash-looping|restarting|exited|running)/.test(screen) && /Checklist/.test(screen));
	process.stderr.write(`# single file: first full frame after ${Date.now() - start} ms\n`);
	assert.match(frame, /1 failing/);
	assert.match(frame, /v1\.4\.0/);
	terminal.send('q');
	await terminal.waitFor(screen => /Incident \d{8}-\d{6}-[0-9a-f]{4} stays open/.test(screen));
});

test('capture: the evidence bundle, complete, its sha256 checks', async () => {
	const result = await cli(['capture', '--json']);
	assert.equal(result.exitCode, 0, result.stderr);
	const json = JSON.parse(result.stdout) as {complete: boolean; items: Array<{id: string; ok: boolean}>; bundle: {file: string; sidecar: string}};
	assert.equal(json.complete, true);
	assert.deepEqual(json.items.filter(i => !i.ok), [], 'every item captured');
	assert.ok(json.items.some(i => i.id === `container-log:${stack.projectName}-web-1`), json.items.map(i => i.id).join(' '));
	sh(`cd '${path.dirname(json.bundle.sidecar)}' && sha256sum -c '${path.basename(json.bundle.sidecar)}'`);
	// Under Bun too, as root the log comes from the json-file driver's files: the same lines, at the
	// same times, as the Engine serves (asked afterwards, so it may have more at the end).
	const capture = JSON.parse(result.stdout) as {dir: string};
	const manifest = JSON.parse(readFileSync(path.join(capture.dir, 'manifest.json'), 'utf8')) as {items: Array<{id: string; how: string; file: string}>};
	const webLog = manifest.items.find(i => i.id === `container-log:${stack.projectName}-web-1`)!;
	if (process.getuid?.() === 0) assert.match(webLog.how, /^read from the json-file log /);
	const times = (text: string) => text.split('\n').filter(Boolean).map(line => line.split(' ')[0]);
	const ours = times(readFileSync(path.join(capture.dir, webLog.file), 'latin1'));
	const engines = times(sh(`docker logs --timestamps ${stack.projectName}-web-1 2>&1`));
	assert.ok(ours.length > 0);
	assert.deepEqual(ours, engines.slice(0, ours.length));
	assert.ok(sh(`tar -tzf '${json.bundle.file}'`).includes('manifest.json'));
});

test('rollback --to v1.3.8 --yes: the detached worker is the same file, run again', async () => {
	const result = await cli(['rollback', '--to', 'v1.3.8', '--yes']);
	assert.equal(result.exitCode, 0, result.stderr + result.stdout);
	assert.match(result.stdout, /Rolled back \S+ to v1\.3\.8/);
	for (const service of ['web', 'worker']) {
		assert.equal(sh(`docker inspect -f '{{.Config.Image}}' ${stack.projectName}-${service}-1`).trim(), `${TEST_REPO}:v1.3.8`);
		assert.equal(sh(`docker inspect -f '{{.State.Status}}' ${stack.projectName}-${service}-1`).trim(), 'running');
	}
	assert.match(readFileSync(path.join(stack.dir, '.env'), 'utf8'), /^IMAGE_TAG=v1\.3\.8$/m);
	// The worker wrote its own output: it ran (as the single file) and finished.
	const incidents = path.join(stateDir, stack.projectName, 'incidents');
	const [incident] = readdirSync(incidents);
	const runs = readdirSync(path.join(incidents, incident!, 'worker'));
	assert.equal(runs.length, 1);
	const output = readFileSync(path.join(incidents, incident!, 'worker', runs[0]!, 'output.log'), 'utf8');
	assert.match(output, /worker pid \d+/);
	const after = await cli(['status', '--json']);
	assert.equal(after.exitCode, 0, after.stderr + after.stdout);
});
