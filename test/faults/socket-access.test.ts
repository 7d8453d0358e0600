// Fault 2: the Docker socket missing or permission-denied at start, and taken away
// mid-session (chmod on a private dockerd's socket; restored after, even on failure).
import assert from 'node:assert/strict';
import {chmodSync, chownSync, mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {oneLine, runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {intoConsole, openConsoleTerminal, type ConsoleTerminal} from './support/console.js';
import {dockerdAvailable, startPrivateEngine, type PrivateEngine} from './support/private-engine.js';
import {asUser, ensureUser, FAULT_USER, userHome} from './support/users.js';

const skip = dockerdAvailable();
let engine: PrivateEngine;
let stack: Stack;
let home: string;
let terminal: ConsoleTerminal | undefined;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-socket-'));
chmodSync(scratch, 0o755);

before(async () => {
	if (skip) return;
	await ensureTestReleases();
	const {uid, gid} = ensureUser();
	home = userHome();
	engine = await startPrivateEngine();
	chmodSync(engine.dir, 0o711); // the socket's mode alone decides who may connect
	engine.loadFromMain('local/busybox:latest', '127.0.0.1:5000/rct/app:v1.3.9');
	process.env['DOCKER_HOST'] = engine.dockerHost;
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	chmodSync(stack.dir, 0o755); // the other user reads the Compose file
	await stack.up({wait: true});
	chownSync(scratch, uid, gid);
});

after(async () => {
	terminal?.kill();
	if (engine) {
		chmodSync(engine.socket, 0o660);
		await stack?.down();
		await engine.destroy();
	}
	rmSync(scratch, {recursive: true, force: true});
	if (home) rmSync(home, {recursive: true, force: true});
});

/** Runs the console in the terminal and returns what it printed and its exit code. */
async function consoleRefused(env: Record<string, string>, wrapper: string[] = []): Promise<{screen: string; code: number}> {
	terminal ??= openConsoleTerminal();
	terminal.run('clear');
	const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
	terminal.run(`cd ${stack.dir} && ${[...wrapper, 'env', ...vars, process.execPath, path.resolve('dist/cli.js'), '--state-dir', scratch].join(' ')}; echo "EXIT=$?"`);
	const screen = await terminal.waitFor(s => /EXIT=\d+/.test(s), 15_000);
	return {screen, code: Number(/EXIT=(\d+)/.exec(screen)![1])};
}

test('the socket missing at start: one line naming it, exit 2 — headless and the console', {skip}, async () => {
	const missing = `unix://${path.join(engine.dir, 'gone.sock')}`;
	const status = await runCli(['status', '--state-dir', scratch], {cwd: stack.dir, env: {DOCKER_HOST: missing}});
	assert.equal(status.exitCode, 2);
	assert.match(oneLine(status.stderr), /no Docker Engine at unix:\/\/.*gone\.sock: the socket does not exist/);
	const {screen, code} = await consoleRefused({DOCKER_HOST: missing});
	assert.equal(code, 2);
	assert.match(screen, /no Docker Engine at unix:\/\/.*gone\.sock/);
	await terminal!.expectSane(scratch);
});

test('permission denied at start: one line naming the docker group, exit 2 — headless and the console', {skip}, async () => {
	chmodSync(engine.socket, 0o600);
	try {
		const env = {DOCKER_HOST: engine.dockerHost, HOME: home};
		const status = await runCli(['status', '--state-dir', scratch], {cwd: stack.dir, env, wrapper: asUser()});
		assert.equal(status.exitCode, 2, status.stderr);
		assert.match(oneLine(status.stderr), /permission denied on unix:\/\/.*docker\.sock: add the user to the docker group/);
		const {screen, code} = await consoleRefused(env, asUser());
		assert.equal(code, 2, screen);
		assert.match(screen, /permission denied on unix:\/\/.*docker\.sock/);
		await terminal!.expectSane(scratch);
	} finally {
		chmodSync(engine.socket, 0o660);
	}
});

test('access taken away mid-session: Engine unreachable, states unknown, and back when it is given again', {skip, timeout: 90_000}, async () => {
	chmodSync(engine.socket, 0o666);
	try {
		terminal ??= openConsoleTerminal();
		terminal.run('clear');
		terminal.run(`cd ${stack.dir} && ${[...asUser(), 'env', `DOCKER_HOST=${engine.dockerHost}`, `HOME=${home}`, 'CI=true', process.execPath, path.resolve('dist/cli.js'), '--state-dir', scratch].join(' ')}`);
		await intoConsole(terminal, s => /● live/.test(s) && /web\s+running/.test(s));
		// Access taken away: open connections outlive a chmod (the check is at connect), so the
		// connections go too — dockerd restarts and makes its socket root:docker 0660 again, and
		// this user is not in the docker group.
		await engine.stop();
		await engine.start();
		const down = await terminal.waitFor(s => /Engine unreachable/.test(s) && /unknown since \d\d:\d\d:\d\d/.test(s) && /permission denied/.test(s), 30_000);
		assert.match(down.split('\n').find(l => /\bweb\s/.test(l) && !/Logs/.test(l)) ?? '', /unknown/);
		chmodSync(engine.socket, 0o666);
		const back = await terminal.waitFor(s => /● live/.test(s) && !/Engine unreachable/.test(s) && /web\s+running/.test(s), 20_000);
		assert.doesNotMatch(back, /unknown since/);
		terminal.send('q');
		await terminal.expectSane(scratch);
		assert.equal(FAULT_USER, 'rc-faults');
	} finally {
		chmodSync(engine.socket, 0o660);
	}
});
