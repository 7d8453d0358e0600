import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {ContainerInfo, Engine, EventHandlers} from '../../source/engine/types.js';
import {containerInfo} from '../support/container-info.js';
import {judgeServices, waitConditions, waitForServices, watchProject} from '../../source/incident/stabilise/service-wait.js';

const c = (service: string, state: ContainerInfo['state'], health: ContainerInfo['health'], exitCode: number | null = null): ContainerInfo =>
	containerInfo(service, {state, health, exitCode});

const conditions = waitConditions({
	web: {dependsOn: {migrate: 'service_completed_successfully', db: 'service_healthy'}},
	migrate: {},
	db: {},
	worker: {},
});

test('the conditions: a service another one waits on to complete must exit 0; every other one must run', () => {
	assert.deepEqual([...conditions], [
		['web', 'running-or-healthy'],
		['migrate', 'completed'],
		['db', 'running-or-healthy'],
		['worker', 'running-or-healthy'],
	]);
});

test('judged as up --wait judges: healthy or running without a healthcheck is ready; starting waits', () => {
	const ready = [c('web', 'running', 'healthy'), c('worker', 'running', 'none'), c('db', 'running', 'healthy'), c('migrate', 'exited', 'none', 0)];
	assert.deepEqual(judgeServices(ready, conditions), {state: 'ready'});
	assert.deepEqual(judgeServices([c('web', 'running', 'starting'), c('worker', 'restarting', 'none'), c('migrate', 'running', 'none')], conditions), {
		state: 'waiting',
		on: ['web starting', 'worker restarting', 'migrate running'],
	});
});

test('failures in compose\'s words: unhealthy, exited, a one-shot that failed', () => {
	assert.deepEqual(judgeServices([c('worker', 'running', 'none'), c('web', 'running', 'unhealthy')], conditions), {
		state: 'failed',
		service: 'web',
		message: 'container shop-web-1 is unhealthy',
	});
	assert.deepEqual(judgeServices([c('worker', 'exited', 'none', 2)], conditions), {state: 'failed', service: 'worker', message: 'container shop-worker-1 exited (2)'});
	assert.deepEqual(judgeServices([c('migrate', 'exited', 'none', 1)], conditions), {
		state: 'failed',
		service: 'migrate',
		message: 'service "migrate" didn\'t complete successfully: exit 1',
	});
});

test('a container of a service no longer in the project (an orphan) is not waited for, even exited', () => {
	assert.deepEqual(judgeServices([c('web', 'running', 'healthy'), c('old-cron', 'exited', 'none', 1)], conditions), {state: 'ready'});
});

/** An engine whose containers change when told, announcing each change as an event. */
function fakeEngine(initial: ContainerInfo[]) {
	let containers = initial;
	let handlers: EventHandlers | null = null;
	let lists = 0;
	const engine = {
		projectContainers: async () => (lists++, containers),
		watchEvents: async (_project: string, h: EventHandlers, signal: AbortSignal) => {
			handlers = h;
			h.onState('live');
			await new Promise(resolve => signal.addEventListener('abort', resolve, {once: true}));
		},
	} as unknown as Engine;
	return {
		engine,
		lists: () => lists,
		set(next: ContainerInfo[]) {
			containers = next;
			handlers?.onEvent({time: Date.now(), action: 'health_status', containerId: 'web-id', name: 'shop-web-1', service: 'web', exitCode: null, health: 'healthy'});
		},
	};
}

test('an event ends the wait at once, not at the next poll', async () => {
	const fake = fakeEngine([c('web', 'running', 'starting')]);
	const watch = watchProject(fake.engine, 'shop');
	try {
		const began = Date.now();
		setTimeout(() => fake.set([c('web', 'running', 'healthy')]), 100);
		const outcome = await waitForServices(fake.engine, 'shop', new Map([['web', 'running-or-healthy']]), {timeoutMs: 10_000, watch});
		assert.equal(outcome.ok, true);
		// Live events: the safety-net poll is 2 s, so only the event can have ended it this soon.
		assert.ok(Date.now() - began < 1000, `took ${Date.now() - began} ms`);
		assert.equal(outcome.containers[0]!.health, 'healthy');
	} finally {
		watch.stop();
	}
});

test('without events it polls; at the timeout it fails naming what it still waited on', async () => {
	const fake = fakeEngine([c('web', 'running', 'starting')]);
	const outcome = await waitForServices(fake.engine, 'shop', new Map([['web', 'running-or-healthy']]), {timeoutMs: 1000});
	assert.equal(outcome.ok, false);
	assert.equal(outcome.message, 'application not healthy after 1 s: web starting');
	assert.equal(outcome.service, 'web');
	assert.ok(fake.lists() >= 3, `looked ${fake.lists()} times`);
});
