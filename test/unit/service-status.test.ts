import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {ComposeConfig, ComposeService, ContainerInfo, ImageInfo} from '../../source/engine/types.js';
import {buildServiceStatus} from '../../source/incident/service-status.js';

const service = (image: string, healthcheck = false): ComposeService => ({
	image,
	build: false,
	healthcheck,
	networkMode: 'host',
	environment: {},
	volumes: [],
});

const config: ComposeConfig = {
	name: 'shop',
	services: {
		web: service('127.0.0.1:5000/shop/app:v1.4.0', true),
		worker: service('127.0.0.1:5000/shop/app:v1.4.0'),
		db: service('local/busybox:latest', true),
		cache: service('local/busybox:latest'),
	},
	volumes: {},
	extension: null,
};

const now = Date.parse('2026-11-22T03:00:00Z');

function container(partial: Partial<ContainerInfo> & Pick<ContainerInfo, 'service'>): ContainerInfo {
	return {
		id: `${partial.service}-id`,
		name: `shop-${partial.service}-1`,
		project: 'shop',
		number: 1,
		state: 'running',
		health: 'none',
		restartCount: 0,
		exitCode: null,
		oomKilled: false,
		startedAt: '2026-11-22T02:59:00Z',
		finishedAt: null,
		createdAt: '2026-11-22T02:00:00Z',
		image: '127.0.0.1:5000/shop/app:v1.4.0',
		imageId: 'sha256:app',
		labels: {},
		...partial,
	};
}

const images = new Map<string, ImageInfo>([
	['sha256:app', {id: 'sha256:app', repoTags: [], repoDigests: ['127.0.0.1:5000/shop/app@sha256:feed'], created: '', size: 1}],
]);

test('one row per service, broken first, with the crash-loop facts', () => {
	const rows = buildServiceStatus(
		config,
		[
			container({service: 'worker'}),
			container({service: 'web', state: 'restarting', restartCount: 7, exitCode: 2, startedAt: '2026-11-22T02:59:58Z', finishedAt: '2026-11-22T02:59:59Z'}),
			container({service: 'db', health: 'healthy', image: 'local/busybox:latest', imageId: 'sha256:bb'}),
		],
		images,
		now,
	);
	assert.deepEqual(
		rows.map(r => [r.service, r.state, r.ok]),
		[
			['cache', 'missing', false],
			['web', 'crash-looping', false],
			['db', 'running', true],
			['worker', 'running', true],
		],
	);
	const web = rows[1]!;
	assert.equal(web.restartCount, 7);
	assert.equal(web.exitCode, 2);
	assert.match(web.crashLoop?.reason ?? '', /restarting after a crash \(restart 7\) \(last exit 2\)/);
	assert.equal(web.uptimeSeconds, null);
	assert.deepEqual(web.image, {configured: '127.0.0.1:5000/shop/app:v1.4.0', tag: 'v1.4.0', id: 'sha256:app', digest: 'sha256:feed'});
	assert.equal(rows[3]!.uptimeSeconds, 60);
	assert.deepEqual(rows[0]!.containers, []);
});

test('a running but unhealthy or starting service is not ok', () => {
	for (const health of ['unhealthy', 'starting'] as const) {
		const [web] = buildServiceStatus({...config, services: {web: config.services['web']!}}, [container({service: 'web', health})], images, now);
		assert.equal(web!.ok, false, health);
		assert.equal(web!.health, health);
	}
});

test('a scaled service takes the state of its worst replica and sums restarts', () => {
	const [worker] = buildServiceStatus(
		{...config, services: {worker: config.services['worker']!}},
		[
			container({service: 'worker', number: 1, restartCount: 1}),
			container({service: 'worker', number: 2, id: 'w2', name: 'shop-worker-2', state: 'exited', exitCode: 137, restartCount: 2, finishedAt: '2026-11-22T02:59:00Z'}),
		],
		images,
		now,
	);
	assert.equal(worker!.state, 'exited');
	assert.equal(worker!.exitCode, 137);
	assert.equal(worker!.restartCount, 3);
	assert.deepEqual(worker!.containers.map(c => c.name), ['shop-worker-1', 'shop-worker-2']);
});
