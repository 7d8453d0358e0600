// Fault 1: dockerd stops and starts again — while the console is open, while `capture` runs
// and while a rollback worker runs. On a private dockerd (support/private-engine.ts): the
// machine's own engine is never stopped.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {connect} from '../../source/engine/connect.js';
import {followLogs} from '../../source/incident/log-followers.js';
import {LogStore} from '../../source/incident/log-store.js';
import {CLI} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {intoConsole, openConsoleTerminal, within, type ConsoleTerminal} from './support/console.js';
import {startHoldingProxy} from './support/engine-proxy.js';
import {dockerdAvailable, startPrivateEngine, type PrivateEngine} from './support/private-engine.js';

const skip = dockerdAvailable();
let engine: PrivateEngine;
let stack: Stack;
let terminal: ConsoleTerminal | undefined;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-state-'));

before(async () => {
	if (skip) return;
	await ensureTestReleases();
	engine = await startPrivateEngine();
	engine.loadFromMain('local/busybox:latest', '127.0.0.1:5000/rct/app:v1.3.9');
	// Every docker and compose call of this file (createStack's too) goes to the private engine.
	process.env['DOCKER_HOST'] = engine.dockerHost;
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	await stack.up({wait: true});
});

after(async () => {
	terminal?.kill();
	if (engine) {
		if (!engine.running()) await engine.start().catch(() => {});
		await stack?.down();
		await engine.destroy();
	}
	rmSync(stateDir, {recursive: true, force: true});
});

const serviceRow = (screen: string, service: string) => screen.split('\n').find(line => new RegExp(`[›│ ]\\s*${service}\\s+\\S`).test(line) && !/Logs/.test(line)) ?? '';

async function waitRunning(): Promise<void> {
	for (let i = 0; i < 150; i++) {
		const out = stack.compose(['ps', '--format', '{{.Service}} {{.State}}'], {allowFail: true});
		const lines = (await out).stdout.trim().split('\n');
		if (lines.length === 2 && lines.every(l => / running/.test(l))) return;
		await delay(200);
	}
	throw new Error('the stack did not come back');
}

test('the console: Engine unreachable and states unknown since when, then it reconnects, resyncs, and the logs resume without a duplicate or a lost line', {skip, timeout: 120_000}, async () => {
	// The console's own log follower, in this process too: its store can be read line by line.
	const controller = new AbortController();
	const store = new LogStore(5000);
	const outside = connect({...process.env, DOCKER_HOST: engine.dockerHost});
	const follows = followLogs(await outside.engine, stack.projectName, ['worker'], store, {tail: 200}, controller.signal);

	terminal = openConsoleTerminal({env: {DOCKER_HOST: engine.dockerHost}});
	terminal.startConsole(stack.dir, ['--state-dir', stateDir]);
	// A healthy stack with no incident open: the console asks before opening one.
	await terminal.waitFor(s => /no incident open/.test(s), 15_000);
	terminal.send('n');
	await intoConsole(terminal, s => /● live/.test(s) && /web\s+running/.test(serviceRow(s, 'web')));
	await delay(2500); // a few worker lines before the fault

	const stoppedAt = Date.now();
	await engine.stop();
	const down = await terminal.waitFor(s => /Engine unreachable/.test(s) && /unknown since \d\d:\d\d:\d\d/.test(s) && /unknown/.test(serviceRow(s, 'web')), 15_000);
	for (const service of ['web', 'worker']) {
		const row = serviceRow(down, service);
		assert.match(row, /unknown/, `${service} is unknown, not the last answer: ${row}`);
		assert.doesNotMatch(row, /exited|running|137|143/, `${service}: ${row}`);
	}
	// The title is whole: the error is beside it, not drawn over it.
	assert.match(down, /Services\s+unknown since/);
	const since = /unknown since (\d\d):(\d\d):(\d\d)/.exec(down)!;
	const sinceDate = new Date(stoppedAt);
	sinceDate.setHours(Number(since[1]), Number(since[2]), Number(since[3]));
	assert.ok(Math.abs(sinceDate.getTime() - stoppedAt) < 20_000, `"since" ${since[0]} is about when dockerd stopped`);
	assert.ok(terminal.pid(), 'the console is still running');

	await engine.start();
	const back = await terminal.waitFor(s => /● live/.test(s) && /running/.test(serviceRow(s, 'web')) && /running/.test(serviceRow(s, 'worker')), 30_000);
	assert.doesNotMatch(back, /Engine unreachable|unknown since/);
	await delay(2500); // the worker writes again after its restart

	controller.abort();
	await follows.catch(() => {});
	const lines = store.tail(['worker'], 5000);
	const keys = lines.filter(l => !l.marker).map(l => `${l.time} ${l.text}`);
	assert.equal(new Set(keys).size, keys.length, `no line twice:\n${keys.join('\n')}`);
	// Before the stop the worker counted 1, 2, 3…; after the restart it counts from 1 again: both runs are whole.
	const jobs = lines.filter(l => !l.marker).map(l => /processed job (\d+)/.exec(l.text)?.[1]).filter(Boolean).map(Number);
	const runs: number[][] = [];
	for (const n of jobs) (n === 1 || runs.length === 0 ? runs.push([n]) : runs.at(-1)!.push(n));
	assert.ok(runs.length >= 2, `a run before and after the restart: ${JSON.stringify(runs)}`);
	for (const run of runs) assert.deepEqual(run, run.map((_, i) => run[0]! + i), `no line lost in a run: ${JSON.stringify(runs)}`);

	terminal.send('q');
	await terminal.expectSane(stateDir);
});

test('capture while dockerd stops: the failed items are recorded with the error, the logs read from its files are in, and complete is honest', {skip, timeout: 120_000}, async () => {
	await waitRunning();
	// The CI log is fetched from here: holding its answer keeps the capture midway while dockerd stops.
	let release: () => void = () => {};
	let asked: () => void = () => {};
	const askedPromise = new Promise<void>(resolve => (asked = resolve));
	const server = http.createServer((_req, res) => {
		asked();
		release = () => res.end('ci log line 1\nci log line 2\n');
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as {port: number}).port;
	// In front of dockerd: from the capture's first request for the events (an item: asked only
	// once the capture has begun) nothing more reaches it, however fast the capture is; dockerd
	// then stops and the held connections are cut, as a dying dockerd cuts them.
	const proxy = await startHoldingProxy(engine.socket, path.join(engine.dir, 'proxy.sock'), request => /^GET \S*\/events\?/.test(request));
	try {
		const child = spawn(process.execPath, [CLI, 'capture', '--json', '--state-dir', stateDir, '--ci-log', `http://127.0.0.1:${port}/ci.log`], {
			cwd: stack.dir,
			env: {...process.env, DOCKER_HOST: proxy.dockerHost, NO_COLOR: '1'},
		});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', c => (stdout += c));
		child.stderr.on('data', c => (stderr += c));
		const exited = new Promise<number>(resolve => child.on('exit', code => resolve(code ?? -1)));
		await within(proxy.holding, 30_000);
		await engine.stop();
		proxy.dropHeld();
		await within(askedPromise, 30_000);
		release();
		const code = await within(exited, 60_000);
		assert.notEqual(code, 'hung', 'the capture ended');
		const out = JSON.parse(stdout) as {bundle: string; complete?: boolean; items: Array<{id: string; ok: boolean; error: string | null}>};
		const failed = out.items.filter(i => !i.ok);
		assert.ok(failed.length > 0, `some items failed with the engine gone: ${stderr}`);
		for (const item of failed) assert.match(item.error ?? '', /engine|docker|connect|socket|ENOENT|ECONNREFUSED/i, `${item.id}: ${item.error}`);
		assert.ok(out.items.some(i => i.ok && i.id.startsWith('ci')), 'the CI log, fetched meanwhile, is in');
		// The manifest in the incident says the same, item by item.
		const incidents = path.join(stateDir, stack.projectName, 'incidents');
		const incident = readdirSync(incidents).sort().at(-1)!;
		const evidence = path.join(incidents, incident, 'evidence');
		const capture = readdirSync(evidence).filter(d => /^\d{8}-/.test(d)).sort().at(-1)!;
		const manifest = JSON.parse(readFileSync(path.join(evidence, capture, 'manifest.json'), 'utf8')) as {
			complete: boolean;
			items: Array<{id: string; ok: boolean; error: string | null}>;
			summary: {failed: number; ok: number; items: number};
		};
		assert.equal(manifest.summary.failed, manifest.items.filter(i => !i.ok).length);
		assert.equal(manifest.summary.failed, failed.length);
		// Every planned item was attempted and written down (failed ones with their error): that is complete.
		assert.equal(manifest.complete, manifest.items.length === manifest.summary.items && manifest.items.every(i => i.ok || i.error));
		assert.ok([0, 1, 3].includes(code as number), `exit ${code}: ${stderr}`);
		assert.match(stderr, /FAILED/, 'the failed item is said on stderr');
		// The logs are read from dockerd's files: they are in, dockerd gone or not.
		assert.ok(out.items.filter(i => i.id.startsWith('container-log:')).every(i => i.ok), JSON.stringify(out.items));
	} finally {
		await proxy.close();
		server.closeAllConnections();
		server.close();
		if (!engine.running()) await engine.start();
	}
});

test('a rollback worker while dockerd stops: the result says what happened, the lock is given back', {skip, timeout: 150_000}, async () => {
	await waitRunning();
	const child = spawn(process.execPath, [CLI, 'rollback', '--to', 'v1.3.8', '--yes', '--state-dir', stateDir], {
		cwd: stack.dir,
		env: {...process.env, DOCKER_HOST: engine.dockerHost, NO_COLOR: '1'},
	});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', c => (stdout += c));
	child.stderr.on('data', c => (stderr += c));
	const exited = new Promise<number>(resolve => child.on('exit', code => resolve(code ?? -1)));
	// Stop dockerd once the worker's pull is done: its `up` then meets no engine.
	const incidents = path.join(stateDir, stack.projectName, 'incidents');
	const timeline = () => {
		try {
			return readdirSync(incidents).map(id => readFileSync(path.join(incidents, id, 'timeline.jsonl'), 'utf8')).join('');
		} catch {
			return '';
		}
	};
	const start = Date.now();
	while (!/"command"[\s\S]*pull/.test(timeline().split('rollback_start').at(-1) ?? '') && Date.now() - start < 60_000) await delay(50);
	await engine.stop();
	const code = await within(exited, 90_000);
	await engine.start();
	assert.equal(code, 3, `the rollback failed midway, exit 3:\n${stdout}\n${stderr}`);
	assert.match(stdout + stderr, /FAILED/);
	assert.match(stdout + stderr, /engine|docker|daemon|connect/i);
	const events = timeline().split('\n').filter(Boolean).map(l => JSON.parse(l) as {type: string; data?: Record<string, unknown>});
	const complete = events.filter(e => e.type === 'rollback_complete').at(-1);
	assert.equal(complete?.data?.['success'], false, 'rollback_complete says it did not succeed');
	assert.ok(events.some(e => e.type === 'rollback_failure'), 'rollback_failure is recorded');
	// Nothing holds the project afterwards: a new rollback is not refused for a lock.
	assert.throws(() => readFileSync(path.join(stateDir, stack.projectName, 'lock')), /ENOENT/);
	// No second try behind the operator's back.
	assert.equal(events.filter(e => e.type === 'rollback_start').length, 1);
});
