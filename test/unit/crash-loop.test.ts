import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {ContainerEvent, ContainerInfo} from '../../source/engine/types.js';
import {backoffMs, crashLoopOf} from '../../source/incident/crash-loop.js';
import {buildServiceStatus} from '../../source/incident/service-status.js';

const now = Date.parse('2026-11-22T03:10:00Z');

function container(partial: Partial<ContainerInfo> = {}): ContainerInfo {
	return {
		id: 'c1', name: 'shop-worker-1', project: 'shop', service: 'worker', number: 1, state: 'running', health: 'none', restartCount: 0,
		exitCode: 0, oomKilled: false, startedAt: new Date(now - 3600_000).toISOString(), finishedAt: null,
		createdAt: '2026-11-22T02:00:00Z', image: 'app:v2', imageId: 'sha256:1', labels: {}, ...partial,
	};
}

const event = (action: ContainerEvent['action'], agoMs: number, exitCode: number | null = null, id = 'c1'): ContainerEvent => ({
	time: now - agoMs, action, containerId: id, name: 'shop-worker-1', service: 'worker', exitCode, health: null,
});

const window = 5 * 60_000;

test('Docker\'s backoff: at least the 10 s reset, doubling from 100 ms, at most a minute', () => {
	assert.equal(backoffMs(1), 10_000);
	assert.equal(backoffMs(8), 25_600);
	assert.equal(backoffMs(30), 60_000);
});

test('caught up between crashes, long past its backoff: still crash-looping, with the last real exit code', () => {
	const c = container({restartCount: 3, startedAt: new Date(now - 12_000).toISOString()});
	const events = [event('die', 60_000, 3), event('start', 59_000), event('die', 30_000, 3), event('start', 29_000), event('die', 13_000, 3), event('start', 12_000)];
	const loop = crashLoopOf(c, events, window, now);
	assert.equal(loop?.restarts, 3);
	assert.equal(loop?.lastExitCode, 3);
	assert.match(loop!.reason, /restarted 3 times in the last 5m \(last exit 3\)/);
	const [row] = buildServiceStatus({name: 'shop', services: {worker: {image: 'app:v2', build: false, healthcheck: false, networkMode: 'host', environment: {}, volumes: []}}, volumes: {}, extension: null}, [c], new Map(), now, {events, windowMs: window});
	assert.equal(row!.state, 'crash-looping');
	assert.equal(row!.ok, false);
	assert.equal(row!.exitCode, 3, 'not the 0 Docker reports while it runs');
	assert.equal(row!.containers[0]!.state, 'crash-looping');
});

test('no events left (the Engine keeps only its last events): up less than the backoff since a restart still counts', () => {
	const c = container({restartCount: 2, startedAt: new Date(now - 3000).toISOString()});
	const loop = crashLoopOf(c, [], window, now);
	assert.ok(loop);
	assert.equal(loop.lastExitCode, null, 'unknown rather than 0');
	assert.match(loop.reason, /up 3s since restart 2, less than Docker's 10s backoff/);
});

test('restarting now is crash-looping, with the exit code of the crash', () => {
	const loop = crashLoopOf(container({state: 'restarting', restartCount: 5, exitCode: 3}), [], window, now);
	assert.equal(loop?.lastExitCode, 3);
});

test('an operator\'s restart (kill, die, stop, start) is not a crash; a restart outside the window is history', () => {
	const c = container({restartCount: 0, startedAt: new Date(now - 20_000).toISOString()});
	assert.equal(crashLoopOf(c, [event('kill', 21_000), event('die', 20_500, 143), event('stop', 20_400), event('start', 20_000)], window, now), null);
	const old = container({restartCount: 1, startedAt: new Date(now - 400_000).toISOString()});
	assert.equal(crashLoopOf(old, [event('die', 400_500, 3), event('start', 400_000)], window, now), null);
});

test('a stable service, and the events of a replaced container, are not crash-looping', () => {
	const c = container({id: 'new', restartCount: 0, startedAt: new Date(now - 30_000).toISOString()});
	assert.equal(crashLoopOf(c, [event('die', 60_000, 2, 'old'), event('start', 59_000, null, 'old')], window, now), null);
	assert.equal(crashLoopOf(container(), [], window, now), null);
});

test('an exited container that stopped for good is exited, not looping', () => {
	assert.equal(crashLoopOf(container({state: 'exited', restartCount: 3, exitCode: 1}), [event('die', 5000, 1)], window, now), null);
});
