// The Disk plan's per-kind planners, each on its own: what each kind of thing on the box
// comes to (an action with its size, or kept with why), without the rest of the plan.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {planContainers} from '../../source/incident/disk/plan-containers.js';
import {imageVerdict, keepParents, planImages} from '../../source/incident/disk/plan-images.js';
import {planLogs} from '../../source/incident/disk/plan-logs.js';
import {RUNAWAY_LOG_BYTES} from '../../source/incident/disk/plan-types.js';
import {planVolumes} from '../../source/incident/disk/plan-volumes.js';
import {container, digest, facts, image, MB, other, repo, verified, volume} from '../support/disk-facts.js';

test('containers: a stopped one compose did not create goes with its log; compose\'s and running ones stay', () => {
	const stray = container('stray', 'exited', 'x');
	const composed = container('shop-db-1', 'exited', 'x', {project: 'shop', service: 'db'});
	const running = container('api', 'running', 'x');
	const planned = planContainers(
		facts({
			containers: [stray, composed, running],
			df: {layersSize: 0, images: [], containers: [{id: stray.id, name: 'stray', imageId: 'x', state: 'exited', sizeRw: 3 * MB}], volumes: [], buildCache: []},
			logSizes: new Map([[stray.id, {size: 2 * MB, allocated: 2 * MB}]]),
		}),
	);
	assert.deepEqual(
		planned.actions.map(a => [a.kind, a.name, a.bytes, a.safe, a.typed]),
		[['remove-container', 'stray', 5 * MB, true, null]],
	);
	assert.match(planned.actions[0]!.does, /^DELETE \/containers\/stray-id0+ \(not forced; its volumes are kept\)$/);
	assert.deepEqual([...planned.removable], [stray.id]);
	assert.deepEqual(
		planned.kept.map(k => [k.name, k.category]),
		[['shop-db-1', 'compose-container']],
	);
	assert.match(planned.kept[0]!.reason, /exited container of compose project shop \(service db\): compose manages it/);
});

test('images: each verdict — in use, dangling, another repository\'s, pinned by another repository\'s digest, retained, beyond retention', () => {
	const records = [verified('v1.0.0', 1), verified('v1.1.0', 2), verified('v1.2.0', 3), verified('v2.0.0', 4)];
	const f = facts({records, current: 'v2.0.0'});
	const ctx = {users: new Map(), removableContainers: new Set<string>(), projectRepos: new Set([repo]), retention: f.retention, facts: f};
	const verdict = (i: ReturnType<typeof image>) => imageVerdict(i, ctx);
	const keptBecause = (i: ReturnType<typeof image>) => {
		const v = verdict(i);
		return 'kept' in v ? `${v.kept.category}: ${v.kept.reason}` : `removed: ${v.action.detail}`;
	};
	assert.match(keptBecause(image('inuse', {tags: [`${repo}:v1.0.0`]}, MB, {containers: 1})), /^in-use: used by 1 container/);
	assert.match(keptBecause(image('dangling', {})), /^removed: dangling: no tag, no digest/);
	assert.match(keptBecause(image('blog', {tags: [`${other}:v9`]})), /^other-project: not this project's \(registry\.example\/blog\/app\)/);
	assert.match(keptBecause(image('pinned', {digests: [`${other}@${digest('ab')}`]})), /^digest-of-other-repository: untagged, but still registry\.example\/blog\/app@sha256:ab0000000000…/);
	assert.match(keptBecause(image('current', {tags: [`${repo}:v2.0.0`]})), /^release: /);
	assert.match(keptBecause(image('old', {tags: [`${repo}:v1.0.0`]})), /^removed: /);
	const removed = verdict(image('old', {tags: [`${repo}:v1.0.0`]}));
	assert.ok('action' in removed && removed.action.safe && removed.action.typed === null);
	// No release records at all: nothing of the project's repository is removed.
	const unknown = imageVerdict(image('old', {tags: [`${repo}:v1.0.0`]}), {...ctx, retention: null});
	assert.ok('kept' in unknown && unknown.kept.reason === 'no release records');
});

test('images: a parent whose child stays is kept; removals are sized by the layers only they hold, children before parents', () => {
	const parent = image('parent', {tags: [`${repo}:v1.0.0`]}, 10 * MB);
	const child = image('child', {}, 12 * MB, {parentId: 'sha256:parent'});
	const kept = keepParents(
		[{id: 'image:parent', kind: 'remove-image', target: parent.id, name: `${repo}:v1.0.0`, bytes: 0, safe: true, typed: null, does: '', detail: ''}],
		[parent, image('child', {tags: ['x/y:1']}, 12 * MB, {parentId: 'sha256:parent'})],
	);
	assert.deepEqual(kept.actions, []);
	assert.deepEqual(kept.kept.map(k => [k.target, k.category]), [[parent.id, 'parent-image']]);
	assert.match(kept.kept[0]!.reason, /x\/y:1 was built on it and stays/);

	// Both go: the child first, and neither counts the layer they share twice.
	const records = [verified('v1.0.0', 1), verified('v1.1.0', 2), verified('v1.2.0', 3), verified('v2.0.0', 4)];
	const layers = new Map([
		[parent.id, {id: parent.id, layers: ['sha256:a'], history: [{size: 10 * MB, createdBy: 'RUN a'}]}],
		[child.id, {id: child.id, layers: ['sha256:a', 'sha256:b'], history: [{size: 10 * MB, createdBy: 'RUN a'}, {size: 2 * MB, createdBy: 'RUN b'}]}],
	]);
	const planned = planImages(facts({records, current: 'v2.0.0', layers, df: {layersSize: 0, images: [parent, child], containers: [], volumes: [], buildCache: []}}), new Set());
	assert.deepEqual(
		planned.actions.map(a => [a.target, a.bytes]),
		[
			[child.id, 2 * MB],
			[parent.id, 10 * MB],
		],
	);
});

test('volumes: compose\'s, named and mounted ones stay; an unused anonymous one needs its name typed, with what it holds', () => {
	const anon = 'f'.repeat(64);
	const user = container('db', 'exited', 'x', {mounts: [{type: 'volume', name: 'data', destination: '/d'}]});
	const planned = planVolumes(
		facts({
			containers: [user],
			df: {
				layersSize: 0,
				images: [],
				containers: [],
				buildCache: [],
				volumes: [
					volume('shop_db', {labels: {'com.docker.compose.project': 'shop', 'com.docker.compose.volume': 'db'}}),
					volume('data'),
					volume('cache'),
					volume(anon, {size: 7 * MB}),
				],
			},
			volumePeeks: new Map([[anon, {names: ['dump.sql'], total: 1}]]),
			volumeMounts: [{volume: anon, containerId: 'c'.repeat(64), containerName: 'old-job', time: 1}],
		}),
	);
	assert.deepEqual(
		planned.kept.map(k => [k.name, k.category]),
		[
			['shop_db', 'compose-volume'],
			['data', 'in-use'],
			['cache', 'named-volume'],
		],
	);
	assert.deepEqual(planned.actions.map(a => [a.kind, a.bytes, a.safe, a.typed]), [['remove-volume', 7 * MB, false, anon.slice(0, 12)]]);
	assert.match(planned.actions[0]!.detail, /last used by old-job; holds dump\.sql/);
});

test('logs: largest first; a runaway one is offered for truncation unless its container goes anyway', () => {
	const big = container('chatty', 'running', 'x');
	const gone = container('stray', 'exited', 'x');
	const small = container('quiet', 'running', 'x');
	const sizes = new Map([
		[big.id, {size: RUNAWAY_LOG_BYTES * 2, allocated: RUNAWAY_LOG_BYTES * 2}],
		[gone.id, {size: RUNAWAY_LOG_BYTES * 3, allocated: RUNAWAY_LOG_BYTES * 3}],
		[small.id, {size: MB, allocated: MB}],
	]);
	const planned = planLogs(facts({containers: [small, big, gone], logSizes: sizes}), new Set([gone.id]), false);
	assert.deepEqual(planned.logs.map(l => l.container), ['stray', 'chatty', 'quiet']);
	assert.deepEqual(planned.actions.map(a => [a.kind, a.name, a.bytes, a.typed]), [['truncate-log', 'chatty', RUNAWAY_LOG_BYTES * 2, 'chatty']]);
	// Saving the tail on the same disk costs about a tenth of it.
	const same = planLogs(facts({containers: [big], logSizes: sizes}), new Set(), true);
	assert.equal(same.actions[0]!.bytes, RUNAWAY_LOG_BYTES * 2 - Math.round(10 * 1024 * 1024 * 0.1));
});

test('an image tagged in this project\'s repository and another one is named by this project\'s tag; the reason names only the other', () => {
	const f = facts({records: [verified('v1.0.0', 1)], current: 'v1.0.0'});
	const ctx = {users: new Map(), removableContainers: new Set<string>(), projectRepos: new Set([repo]), retention: f.retention, facts: f};
	const verdict = imageVerdict(image('both', {tags: [`${other}:v9`, `${repo}:v1.0.0`]}), ctx);
	assert.ok('kept' in verdict);
	assert.equal(verdict.kept.name, `${repo}:v1.0.0`);
	assert.match(verdict.kept.reason, new RegExp(`^also ${other.replace(/\./g, '\\.')}:v9, not this project's`));
	assert.doesNotMatch(verdict.kept.reason, /v1\.0\.0/);
});
