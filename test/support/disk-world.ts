// A disk world for tests of the Disk step: a box 85% full with a dangling image, an old
// release, a stray stopped container, a database volume and an anonymous volume, behind
// in-memory DiskEngine and DiskHost implementations; `gather` builds the real plan.
import type {DfImage, DfVolume, DiskContainer, DiskEngine, DiskHost, DiskUsage, FsUsage} from '../../source/engine/types.js';
import {buildDiskPlan} from '../../source/incident/disk/plan.js';
import {computeRetention} from '../../source/incident/disk/retention.js';
import {runDiskStep} from '../../source/incident/disk/run.js';
import type {ReleaseRecord} from '../../source/incident/stabilise/releases.js';
import type {DiskModel} from '../../source/ui/console-model.js';

export const GB = 1_000_000_000;
const repo = '127.0.0.1:5000/shop/app';
export const anon = 'a1b2c3d4e5f6'.padEnd(64, '0');

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
export function world(options: {failImage?: string} = {}) {
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
			if (id === options.failImage) throw new Error(`conflict: unable to remove ${id}`);
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

/** The console's Disk model over a world, running the real domain (runDiskStep) as the console's does. */
export function diskModelOver(w: ReturnType<typeof world>, evidenceDir: string): DiskModel {
	return {
		gather: () => w.gather(),
		run: async (actions, record, onResult) => runDiskStep({engine: w.engine, host: w.host, report: await w.gather(), evidenceDir, record}, actions, onResult ? {onResult} : {}),
	};
}
