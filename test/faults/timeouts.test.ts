// Fault 3: the registry stops answering; a health URL that accepts the connection and never
// answers; a smoke URL that answers one byte a second. Nothing hangs past its timeout, and the
// timeouts are named in the output. Short timeouts come from the project's settings.
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';

let stack: Stack;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-timeouts-'));
const sockets = new Set<net.Socket>();
let stall: net.Server;
let trickle: http.Server;
let registry: net.Server;
let frozen = false;
// Armed: the Engine's own first request for the target (the worker's pull, not the command's
// registry check: its User-Agent is docker's) freezes the registry, mid-pull.
let armed = false;
const pairs: Array<[net.Socket, net.Socket]> = [];
function freeze(): void {
	frozen = true;
	for (const [client, upstream] of pairs) {
		client.pause();
		upstream.pause();
	}
}

const listen = (server: net.Server) => new Promise<number>(resolve => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));

before(async () => {
	await ensureTestReleases();
	// Accepts, reads, never answers.
	stall = net.createServer(socket => {
		sockets.add(socket);
		socket.on('error', () => {});
	});
	// Answers 200, one byte a second, for a minute.
	trickle = http.createServer((_req, res) => {
		res.writeHead(200, {'content-type': 'application/json'});
		const body = `{"items": [${'1,'.repeat(30)}1]}`;
		let at = 0;
		const timer = setInterval(() => (at < body.length ? res.write(body[at++]) : (clearInterval(timer), res.end())), 1000);
		res.on('close', () => clearInterval(timer));
	});
	trickle.on('connection', socket => sockets.add(socket));
	// A TCP proxy in front of the registry that can freeze: connections are taken, nothing forwarded.
	registry = net.createServer(client => {
		sockets.add(client);
		client.on('error', () => {});
		if (frozen) return;
		const upstream = net.connect(5000, '127.0.0.1');
		sockets.add(upstream);
		pairs.push([client, upstream]);
		upstream.on('error', () => client.destroy());
		client.on('data', (chunk: Buffer) => {
			if (frozen) return;
			const text = chunk.toString('latin1');
			if (armed && /^(GET|HEAD) \/v2\/\S+\/manifests\/v1\.3\.8 /m.test(text) && /^user-agent: docker\//im.test(text)) return freeze();
			upstream.write(chunk);
		});
		upstream.on('data', (chunk: Buffer) => {
			if (!frozen) client.write(chunk);
		});
	});
	const [stallPort, tricklePort, registryPort] = await Promise.all([listen(stall), listen(trickle), listen(registry)]);

	stack = await createStack({tag: 'v1.3.9', withDb: false});
	const file = path.join(stack.dir, 'compose.yaml');
	const settings = [
		'x-rollback-console:',
		'  release: {variable: IMAGE_TAG, services: [web, worker], persist: env, pull_timeout: 5s}',
		'  health:',
		`    - {url: "http://127.0.0.1:${stallPort}/health", timeout_ms: 1500}`,
		'  smoke:',
		`    - {url: "http://127.0.0.1:${tricklePort}/api/items", timeout: 2s, expect: {status: 200, json_keys: [items]}}`,
		'  verify: {window: 1s, health: {tries: 1, interval: 0s}}',
	].join('\n');
	const compose = readFileSync(file, 'utf8')
		.replace(/^x-rollback-console:[\s\S]*?(?=^services:)/m, `${settings}\n\n`)
		.replaceAll('127.0.0.1:5000/rct/app', `127.0.0.1:${registryPort}/rct/app`);
	writeFileSync(file, compose);
	await stack.up({wait: true});
});

after(async () => {
	for (const socket of sockets) socket.destroy();
	await Promise.all([stall, trickle, registry].map(s => new Promise(resolve => s?.close(resolve))));
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
});

test('a health URL that never answers: the capture ends on time and names the timeout', {timeout: 60_000}, async () => {
	const start = Date.now();
	const result = await runCli(['capture', '--json', '--state-dir', stateDir], {cwd: stack.dir});
	const ms = Date.now() - start;
	assert.equal(result.exitCode, 0, result.stderr);
	const manifest = JSON.parse(readFileSync((JSON.parse(result.stdout) as {manifest: string}).manifest, 'utf8')) as {dir?: string};
	const responses = readFileSync(path.join(path.dirname((JSON.parse(result.stdout) as {manifest: string}).manifest), 'health', 'responses.json'), 'utf8');
	assert.match(responses, /timeout after 1500 ms/, responses);
	assert.ok(ms < 20_000, `the capture took ${ms} ms`);
	assert.ok(manifest);
});

test('verify: the health URL that never answers and the smoke URL at 1 byte/s each end at their timeout, named', {timeout: 60_000}, async () => {
	const start = Date.now();
	const result = await runCli(['verify', '--no-wait', '--state-dir', stateDir], {cwd: stack.dir});
	const ms = Date.now() - start;
	const said = result.stdout + result.stderr;
	assert.equal(result.exitCode, 1, said);
	assert.match(said, /FAIL health .*timeout after 1500 ms/, said);
	assert.match(said, /FAIL smoke .*timeout after 2000 ms \(status 200, the body still arriving/, said);
	assert.ok(ms < 30_000, `verify took ${ms} ms`);
});

test('the registry freezes mid-pull: the worker\'s pull is stopped at its timeout, named; nothing changed, the lock given back', {timeout: 90_000}, async () => {
	const envBefore = readFileSync(path.join(stack.dir, '.env'), 'utf8');
	armed = true;
	const start = Date.now();
	const result = await runCli(['rollback', '--to', 'v1.3.8', '--yes', '--state-dir', stateDir], {cwd: stack.dir, timeoutMs: 80_000});
	const ms = Date.now() - start;
	const said = result.stdout + result.stderr;
	assert.ok(frozen, 'the registry froze mid-pull');
	assert.equal(result.exitCode, 3, said);
	assert.match(said, /pull stopped after 5s \(x-rollback-console\.release\.pull_timeout\): the registry stopped answering mid-pull/, said);
	assert.ok(ms < 30_000, `ended after ${ms} ms`);
	assert.equal(readFileSync(path.join(stack.dir, '.env'), 'utf8'), envBefore, 'nothing changed');
	assert.throws(() => readFileSync(path.join(stateDir, stack.projectName, 'lock')), /ENOENT/, 'the lock is given back');
});

test('the registry stops answering: the rollback\'s registry check ends at its timeout, named, and nothing changes', {timeout: 60_000}, async () => {
	freeze();
	const envBefore = readFileSync(path.join(stack.dir, '.env'), 'utf8');
	const start = Date.now();
	const result = await runCli(['rollback', '--to', 'v1.3.8', '--yes', '--state-dir', stateDir], {cwd: stack.dir});
	const ms = Date.now() - start;
	const said = result.stdout + result.stderr;
	assert.equal(result.exitCode, 2, said);
	assert.match(said, /registry 127\.0\.0\.1:\d+ does not answer \(timeout after \d+ ms\)/, said);
	assert.ok(ms < 20_000, `refused after ${ms} ms`);
	assert.equal(readFileSync(path.join(stack.dir, '.env'), 'utf8'), envBefore, 'nothing changed');
});
