import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {ContainerInfo, Engine, EventHandlers} from '../../source/engine/types.js';
import {ServicesFeed, type ServicesSnapshot} from '../../source/incident/services-feed.js';
import {parseSettings} from '../../source/incident/settings.js';
import type {LoadedProject} from '../../source/incident/status.js';

const loaded: LoadedProject = {
	project: {workingDir: '/srv/shop', files: ['/srv/shop/compose.yaml'], name: null},
	name: 'shop',
	config: {
		name: 'shop',
		services: {web: {image: 'app:v2', build: false, healthcheck: false, networkMode: 'host', environment: {}, volumes: []}},
		volumes: {},
		extension: null,
	},
	settings: parseSettings(null),
};

function container(restartCount: number, state: ContainerInfo['state'] = 'running'): ContainerInfo {
	return {
		id: 'c1', name: 'shop-web-1', project: 'shop', service: 'web', number: 1, state, health: 'none', restartCount,
		exitCode: state === 'running' ? null : 2, oomKilled: false, startedAt: '2026-11-22T03:00:00Z', finishedAt: null,
		createdAt: '2026-11-22T02:00:00Z', image: 'app:v2', imageId: 'sha256:1', labels: {},
	};
}

/** An engine whose containers and event stream the test controls. */
function scriptedEngine() {
	let containers = [container(0)];
	let reads = 0;
	let handlers: EventHandlers | undefined;
	const engine: Engine = {
		address: 'test',
		version: async () => ({version: '20.10', apiVersion: '1.41', os: 'linux', arch: 'amd64', kernel: ''}),
		projectContainers: async () => {
			reads++;
			return containers;
		},
		image: async () => null,
		watchEvents: (_project, h, signal) => {
			handlers = h;
			h.onState('live');
			return new Promise(resolve => signal.addEventListener('abort', () => resolve()));
		},
		followServiceLogs: async function* () {},
	};
	return {
		engine,
		set: (next: ContainerInfo[]) => (containers = next),
		reads: () => reads,
		handlers: () => handlers!,
	};
}

const waitFor = async (predicate: () => boolean) => {
	for (let i = 0; i < 200 && !predicate(); i++) await new Promise(resolve => setTimeout(resolve, 5));
	assert.ok(predicate(), 'condition not reached');
};

test('events drive re-reads (debounced), and rising restarts are flagged', async () => {
	const scripted = scriptedEngine();
	const feed = new ServicesFeed(scripted.engine, loaded, {debounceMs: 10, pollMs: 50});
	const controller = new AbortController();
	const seen: ServicesSnapshot[] = [];
	feed.subscribe(s => seen.push(s));
	void feed.start(controller.signal);
	await waitFor(() => feed.snapshot().mode === 'live' && feed.snapshot().services.length === 1);
	const readsBefore = scripted.reads();

	scripted.set([container(1, 'restarting')]);
	const event = {time: Date.now(), action: 'die' as const, containerId: 'c1', name: 'shop-web-1', service: 'web', exitCode: 2, health: null};
	for (let i = 0; i < 5; i++) scripted.handlers().onEvent(event);
	await waitFor(() => feed.snapshot().services[0]?.state === 'crash-looping');
	await new Promise(resolve => setTimeout(resolve, 40));
	assert.equal(scripted.reads() - readsBefore, 1, 'five events in a burst cost one re-read');
	assert.ok(feed.snapshot().rising.has('web'));
	assert.equal(feed.snapshot().lastEvent?.action, 'die');
	controller.abort();
});

test('while the event stream is down the feed polls, says so, and stops polling when it is back', async () => {
	const scripted = scriptedEngine();
	const feed = new ServicesFeed(scripted.engine, loaded, {debounceMs: 5, pollMs: 20});
	const controller = new AbortController();
	void feed.start(controller.signal);
	await waitFor(() => feed.snapshot().mode === 'live');
	scripted.handlers().onState('reconnecting', new Error('stream dropped'));
	assert.equal(feed.snapshot().mode, 'polling');
	assert.equal(feed.snapshot().error, 'stream dropped');
	const before = scripted.reads();
	scripted.set([container(0, 'exited')]);
	await waitFor(() => scripted.reads() >= before + 2 && feed.snapshot().services[0]?.state === 'exited');
	scripted.handlers().onState('live');
	assert.equal(feed.snapshot().mode, 'live');
	await new Promise(resolve => setTimeout(resolve, 30));
	const settled = scripted.reads();
	await new Promise(resolve => setTimeout(resolve, 80));
	assert.equal(scripted.reads(), settled, 'no polling once live again');
	controller.abort();
});
