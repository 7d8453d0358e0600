import assert from 'node:assert/strict';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {after, before, test} from 'node:test';
import {probeHealth} from '../../source/engine/http-probe.js';
import type {Settings} from '../../source/incident/settings.js';

// Real servers on 127.0.0.1, started here; nothing else is contacted.
let server: http.Server;
let base = '';
let closedPort = 0;
const seen: Array<{url: string; authorization: string | undefined}> = [];
const slowTimers = new Set<NodeJS.Timeout>();

before(async () => {
	server = http.createServer((request, response) => {
		seen.push({url: request.url ?? '', authorization: request.headers.authorization});
		switch (request.url) {
			case '/ok':
				response.writeHead(200, {'content-type': 'text/plain'}).end(`ok ${'x'.repeat(1000)}`);
				return;
			case '/down':
				response.writeHead(503, {'content-type': 'application/json'}).end('{"status":"db unreachable"}');
				return;
			case '/slow': {
				const timer = setTimeout(() => response.writeHead(200).end('late'), 2000);
				slowTimers.add(timer);
				return;
			}
			case '/auth':
				response.writeHead(request.headers.authorization === 'Bearer s3cret' ? 204 : 401).end();
				return;
			default:
				response.writeHead(404).end('no such page');
		}
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	// A port that was listening a moment ago and no longer is: connection refused.
	const spare = http.createServer();
	await new Promise<void>(resolve => spare.listen(0, '127.0.0.1', resolve));
	closedPort = (spare.address() as AddressInfo).port;
	await new Promise(resolve => spare.close(resolve));
});

after(async () => {
	for (const timer of slowTimers) clearTimeout(timer);
	server.closeAllConnections();
	await new Promise(resolve => server.close(resolve));
});

const target = (path: string, partial: Partial<Settings['health'][number]> = {}): Settings['health'][number] => ({
	url: `${base}${path}`,
	headers: {},
	expectStatus: 200,
	timeoutMs: 5000,
	...partial,
});

test('a 200 is ok, with a latency and the first 300 characters of the body', async () => {
	const [probe] = await probeHealth([target('/ok')], {now: () => Date.parse('2026-11-22T03:00:00Z')});
	assert.ok(probe);
	assert.equal(probe.ok, true);
	assert.equal(probe.status, 200);
	assert.equal(probe.expectStatus, 200);
	assert.equal(probe.error, null);
	assert.equal(probe.body.length, 300);
	assert.ok(probe.body.startsWith('ok xxx'));
	assert.ok(probe.latencyMs >= 0 && probe.latencyMs < 5000);
	assert.equal(probe.time, '2026-11-22T03:00:00.000Z');
});

test('a 503 is a result, not a throw: not ok, with the status and body', async () => {
	const [probe] = await probeHealth([target('/down')]);
	assert.equal(probe?.ok, false);
	assert.equal(probe?.status, 503);
	assert.equal(probe?.error, 'expected 200, got 503');
	assert.equal(probe?.body, '{"status":"db unreachable"}');
});

test('a configured expected status is what counts as ok', async () => {
	const [probe] = await probeHealth([target('/down', {expectStatus: 503})]);
	assert.equal(probe?.ok, true);
	assert.equal(probe?.error, null);
});

test('a slow endpoint times out after the target\'s timeoutMs, without retries', async () => {
	const before = seen.filter(s => s.url === '/slow').length;
	const started = performance.now();
	const [probe] = await probeHealth([target('/slow', {timeoutMs: 300})]);
	const took = performance.now() - started;
	assert.equal(probe?.ok, false);
	assert.equal(probe?.status, null);
	assert.equal(probe?.error, 'timeout after 300 ms');
	assert.ok(took >= 250 && took < 1500, `took ${took} ms`);
	assert.ok((probe?.latencyMs ?? 0) >= 250);
	assert.equal(seen.filter(s => s.url === '/slow').length - before, 1, 'one request: no retries');
});

test('a closed port is connection refused', async () => {
	const [probe] = await probeHealth([{url: `http://127.0.0.1:${closedPort}/health`, headers: {}, expectStatus: 200, timeoutMs: 2000}]);
	assert.equal(probe?.ok, false);
	assert.equal(probe?.status, null);
	assert.equal(probe?.error, 'connection refused');
});

test('headers are sent with ${VAR} expanded from the given environment', async () => {
	const [probe] = await probeHealth([target('/auth', {headers: {Authorization: 'Bearer ${TOKEN}'}, expectStatus: 204})], {
		env: {TOKEN: 's3cret'},
	});
	assert.equal(probe?.ok, true);
	assert.equal(probe?.status, 204);
	assert.equal(seen.at(-1)?.authorization, 'Bearer s3cret');
	// The result never carries the expanded secret.
	assert.ok(!JSON.stringify(probe).includes('s3cret'));
});

test('every target is probed in parallel, results in the configured order', async () => {
	const started = performance.now();
	const probes = await probeHealth([target('/slow', {timeoutMs: 400}), target('/ok'), target('/slow', {timeoutMs: 400}), target('/down')]);
	const took = performance.now() - started;
	assert.deepEqual(
		probes.map(p => [p.url.slice(base.length), p.status]),
		[
			['/slow', null],
			['/ok', 200],
			['/slow', null],
			['/down', 503],
		],
	);
	assert.ok(took < 750, `two 400 ms timeouts ran side by side (took ${took} ms)`);
});

test('an aborted signal ends the probes early', async () => {
	const controller = new AbortController();
	setTimeout(() => controller.abort(), 100);
	const started = performance.now();
	const [probe] = await probeHealth([target('/slow', {timeoutMs: 5000})], {signal: controller.signal});
	assert.ok(performance.now() - started < 1500);
	assert.equal(probe?.ok, false);
	assert.equal(probe?.error, 'aborted');
});

test('no targets, no probes', async () => {
	assert.deepEqual(await probeHealth([]), []);
});
