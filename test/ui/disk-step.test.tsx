import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import type {DfImage, DfVolume, DiskContainer, DiskEngine, DiskHost, DiskUsage, FsUsage} from '../../source/engine/types.js';
import {buildDiskPlan} from '../../source/incident/disk/plan.js';
import {computeRetention} from '../../source/incident/disk/retention.js';
import {runDiskPrune} from '../../source/incident/disk/run.js';
import type {ReleaseRecord} from '../../source/incident/stabilise/releases.js';
import {App} from '../../source/ui/app.js';
import {fakeModel, frameWhere, serviceRow, type FakeModel} from '../support/fake-model.js';

// ink-testing-library's terminal is 100 columns wide.
const size = {columns: 100, rows: 30};
const GB = 1_000_000_000;
const repo = '127.0.0.1:5000/shop/app';
const anon = 'a1b2c3d4e5f6'.padEnd(64, '0');
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const image = (id: string, tags: string[], bytes: number, containers = 0): DfImage => ({
	id,
	repoTags: tags,
	repoDigests: tags.map(t => `${t.replace(/:[^:/]+$/, '')}@sha256:${id.slice(7).padEnd(64, '0')}`),
	created: '2026-11-01T00:00:00.000Z',
	size: bytes,
	sharedSize: 0,
	containers,
	parentId: '',
});

const container = (id: string, name: string, state: DiskContainer['state'], imageId: string, project: string | null, mounts: DiskContainer['mounts'] = []): DiskContainer => ({
	id: id.padEnd(64, '0'),
	name,
	state,
	project,
	service: project ? name.split('-')[1]! : null,
	image: 'x',
	imageId,
	createdAt: '2026-11-01T00:00:00.000Z',
	finishedAt: state === 'running' ? null : '2026-11-20T00:00:00.000Z',
	logDriver: 'json-file',
	logPath: null,
	mounts,
});

/** A box 85% full: a dangling image, an old release, a stray stopped container, a database volume, an anonymous volume. */
function world() {
	const state = {
		freed: 0,
		images: [
			image('sha256:dangling', [], 4 * GB),
			image('sha256:old', [`${repo}:v1.3.4`], 2 * GB),
			image('sha256:good', [`${repo}:v1.3.9`], 1 * GB),
			image('sha256:current', [`${repo}:v1.4.0`], 1 * GB, 1),
		],
		containers: [
			container('c1', 'shop-web-1', 'running', 'sha256:current', 'shop'),
			container('c2', 'shop-db-1', 'exited', 'sha256:current', 'shop', [{type: 'volume', name: 'shop_dbdata', destination: '/data'}]),
			container('c3', 'stray-job', 'exited', 'sha256:none', null),
		],
		volumes: [
			{name: 'shop_dbdata', driver: 'local', mountpoint: '/v/db', createdAt: null, labels: {'com.docker.compose.project': 'shop', 'com.docker.compose.volume': 'dbdata'}, size: 3 * GB, refCount: 1},
			{name: anon, driver: 'local', mountpoint: '/v/anon', createdAt: '2026-11-02T00:00:00Z', labels: {}, size: 0.3 * GB, refCount: 0},
		] as DfVolume[],
		calls: [] as string[],
	};
	const sizes: Record<string, number> = {'sha256:dangling': 4 * GB, 'sha256:old': 2 * GB, [anon]: 0.3 * GB, ['c3'.padEnd(64, '0')]: 0.5 * GB};
	const remove = (list: Array<{id?: string; name?: string}>, key: string) => {
		const at = list.findIndex(x => (x.id ?? x.name) === key);
		if (at === -1) throw new Error(`no such object: ${key}`);
		list.splice(at, 1);
		state.freed += sizes[key] ?? 0;
	};
	const engine: DiskEngine = {
		dockerRootDir: async () => '/var/lib/docker',
		diskUsage: async () => df(),
		allContainers: async () => state.containers,
		imageLayers: async () => null,
		volumeMounts: async () => [],
		async removeContainer(id) {
			state.calls.push(`container ${id.slice(0, 2)}`);
			remove(state.containers, id);
		},
		async removeImage(id) {
			state.calls.push(`image ${id}`);
			remove(state.images, id);
			return [id];
		},
		async removeVolume(name) {
			state.calls.push(`volume ${name.slice(0, 12)}`);
			remove(state.volumes, name);
		},
		pruneBuildCache: async () => 0,
	};
	const df = (): DiskUsage => ({
		layersSize: state.images.reduce((s, i) => s + i.size, 0),
		images: state.images,
		containers: state.containers.map(c => ({id: c.id, name: c.name, imageId: c.imageId, state: c.state, sizeRw: c.id.startsWith('c3') ? 0.5 * GB : 0})),
		volumes: state.volumes,
		buildCache: [],
	});
	const host: DiskHost = {
		fsUsage: async (path): Promise<FsUsage> => {
			const used = 85 * GB - state.freed;
			return {path, device: 1, size: 100 * GB, used, free: 100 * GB - used, usedPercent: (used / (100 * GB)) * 100};
		},
		fileSize: async () => null,
		readTail: async () => ({data: Buffer.alloc(0), lines: 0, fileSize: 0}),
		truncate: async () => {},
		peek: async () => ({names: ['blob'], total: 1}),
	};
	const records: ReleaseRecord[] = ['v1.3.4', 'v1.3.5', 'v1.3.6', 'v1.3.7', 'v1.3.8', 'v1.3.9'].map((tag, i) => ({
		time: `2026-11-1${i}T00:00:00.000Z`,
		event: 'verified',
		tag,
		digests: {web: null},
		imageIds: {web: null},
		migrationHead: null,
		operator: null,
	}));
	const retention = computeRetention({
		project: 'shop',
		records,
		templates: {web: {service: 'web', raw: `${repo}:\${IMAGE_TAG}`, repository: repo, tagPrefix: '', tagSuffix: ''}},
		currentTag: 'v1.4.0',
		configuredTag: 'v1.4.0',
		retain: 5,
	});
	const gather = async () =>
		buildDiskPlan({
			project: 'shop',
			checkedAt: new Date().toISOString(),
			engine: {address: 'unix:///var/run/docker.sock', version: '20.10.24', apiVersion: '1.41', dockerRootDir: '/var/lib/docker', local: true},
			thresholdPercent: 80,
			retainReleases: 5,
			filesystems: await Promise.all([
				host.fsUsage('/').then(f => ({...f, label: 'root' as const})),
				host.fsUsage('/var/lib/docker').then(f => ({...f, label: 'docker' as const})),
			]),
			df: df(),
			containers: state.containers,
			layers: new Map(),
			logSizes: new Map(),
			volumeMounts: [],
			volumePeeks: new Map([[anon, {names: ['blob'], total: 1}]]),
			retention,
			records,
			releaseProblem: null,
			others: [],
			sharedUnrecorded: new Map(),
		});
	return {state, engine, host, gather};
}

async function mount(options: {readOnly?: boolean} = {}) {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web')], ...options});
	const w = world();
	fake.model.disk = {
		gather: () => w.gather(),
		run: async (actions, record, onResult) =>
			runDiskPrune({engine: w.engine, host: w.host, report: await w.gather(), evidenceDir: `${fake.dir}/evidence`, record}, actions, onResult ? {onResult} : {}),
	};
	const ui = render(<App model={fake.model} size={size} color={false} />);
	cleanups.push(async () => {
		ui.unmount();
		await sleep(50);
		fake.cleanup();
	});
	const frame = (predicate: (f: string) => boolean, timeoutMs?: number) => frameWhere(ui.lastFrame, predicate, timeoutMs);
	const press = async (keys: string, ms = 30) => {
		ui.stdin.write(keys);
		await sleep(keys === '\u001B' ? 60 : ms);
	};
	await frame(f => f.includes('Checklist'));
	for (let i = 0; i < 4; i++) await press('\u001B[B');
	await press('\r');
	await frame(f => f.includes('Step 5 · Free disk') && f.includes('Plan'));
	return {fake, w, ui, frame, press};
}

const events = (fake: FakeModel) => fake.model.timeline.events();

test('the Disk step draws usage against the threshold, the plan with sizes, and what is kept and why', async () => {
	const {frame, press} = await mount();
	const shown = await frame(f => f.includes('remove image'));
	assert.match(shown, /\/ +\/ +[█┃│░]{20} +85% +15 GB free of 100 GB over 80%/);
	assert.match(shown, /docker +\/var\/lib\/docker +same filesystem as \//);
	assert.match(shown, /Plan 3 safe \(about 6\.5 GB\) · 1 need a typed confirmation/);
	assert.match(shown, /› remove container +stray-job +500 MB/);
	assert.match(shown, /remove image +<none> dangling +4\.0 GB +dangling: no tag, no digest/);
	assert.match(shown, /remove image +….*\/shop\/app:v1\.3\.4 +2\.0 GB +release v1\.3\.4: verified/);
	assert.match(shown, /remove volume +a1b2c3d4e5f60+… +300 MB +typed · anonymous volume/);
	assert.doesNotMatch(shown, /remove image .*v1\.3\.9/);

	await press('k');
	const kept = await frame(f => f.includes('Kept, and why'));
	assert.match(kept, /volume +shop_dbdata +3\.0 GB *│\n│ +named volume dbdata of compose project shop, used by shop-db-1 \(exited\)/);
	assert.match(kept, /image +127\.0\.0\.1:5000\/shop\/app:v1\.3\.9 +1\.0 GB *│\n│ +the last known good release v1\.3\.9/);
	assert.match(kept, /image +127\.0\.0\.1:5000\/shop\/app:v1\.4\.0 +1\.0 GB *│\n│ +used by shop-web-1 \(running\)/);
	assert.match(kept, /container +shop-db-1 .*\n│ +exited container of compose project shop \(service db\): compose manages it/);
	await press('k');
	await frame(f => f.includes('Plan 3 safe'));
});

test('one action at a time: y runs it and records it; a volume needs its first 12 characters typed', async () => {
	const {fake, w, frame, press} = await mount();
	await frame(f => f.includes('› remove container'));
	await press('\r');
	await frame(f => f.includes('remove container stray-job? y/n — DELETE /containers/'));
	await press('n');
	await frame(f => !f.includes('y/n'));
	assert.deepEqual(w.state.calls, [], 'n runs nothing');

	await press('\r');
	await press('y');
	await frame(f => f.includes('Last run: 1 action, freed 500 MB'));
	assert.deepEqual(w.state.calls, ['container c3']);
	const action = events(fake).find(e => e.type === 'disk_action')!;
	assert.equal(action.step, 'disk');
	assert.deepEqual([action.data['action'], action.data['ok'], action.data['bytesFreed'], action.data['error']], ['remove-container', true, 0.5 * GB, null]);
	assert.ok(events(fake).some(e => e.type === 'disk_prune_complete' && e.data['freedBytes'] === 0.5 * GB));

	// The volume: last in the list.
	for (let i = 0; i < 5; i++) await press('\u001B[B');
	await frame(f => f.includes('› remove volume'));
	await press('\r');
	await frame(f => f.includes(`type ${anon.slice(0, 12)} to confirm`));
	for (const char of 'a1b2c3') await press(char, 10);
	await press('q', 10);
	await press('\r');
	await frame(f => f.includes('is not a1b2c3d4e5f6: nothing was run'));
	assert.deepEqual(w.state.calls, ['container c3'], 'a wrong confirmation runs nothing (and q was a letter)');
	await press('\r');
	for (const char of anon.slice(0, 12)) await press(char, 10);
	await press('\r');
	await frame(f => f.includes('Last run: 1 action, freed 300 MB'));
	assert.deepEqual(w.state.calls, ['container c3', `volume ${anon.slice(0, 12)}`]);
});

test('a runs every safe action in turn; back under the threshold the step is done', async () => {
	const {fake, w, frame, press} = await mount();
	await frame(f => f.includes('Plan 3 safe'));
	await press('a');
	await frame(f => f.includes('run the 3 safe actions, one at a time (about 6.5 GB)? y/n'));
	await press('y');
	const after = await frame(f => f.includes('Last run: 3 actions'));
	assert.match(after, /freed 6\.5 GB \(estimate 6\.5 GB\); free 15 GB → 22 GB/);
	assert.deepEqual(w.state.calls, ['container c3', 'image sha256:dangling', 'image sha256:old']);
	assert.match(after, /79%/);
	await frame(f => f.includes('nothing safe to remove'));
	for (let i = 0; i < 50 && !events(fake).some(e => e.type === 'step_status' && e.step === 'disk' && e.data['status'] === 'done'); i++) await sleep(20);
	assert.ok(events(fake).some(e => e.type === 'step_status' && e.step === 'disk' && e.data['status'] === 'done'));
	assert.equal(events(fake).filter(e => e.type === 'disk_action').length, 3);
});

test('read-only: the plan is shown, nothing runs', async () => {
	const {w, frame, press} = await mount({readOnly: true});
	await frame(f => f.includes('remove image'));
	await press('\r');
	await frame(f => f.includes('read-only'));
	await press('a');
	assert.deepEqual(w.state.calls, []);
	await press('\u001B');
	await frame(f => f.includes('Checklist'));
});
