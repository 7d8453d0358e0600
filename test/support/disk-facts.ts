// Disk facts for the Disk plan's unit tests: images, containers, volumes and release
// records as the gatherer would find them, and DiskFacts around them.
import type {DfImage, DfVolume, DiskContainer} from '../../source/engine/types.js';
import type {DiskFacts} from '../../source/incident/disk/plan.js';
import {computeRetention} from '../../source/incident/disk/retention.js';
import type {ReleaseRecord} from '../../source/incident/stabilise/releases.js';

export const repo = 'registry.example/shop/app';
export const other = 'registry.example/blog/app';
export const MB = 1_000_000;
export const digest = (n: string) => `sha256:${n.padEnd(64, '0')}`;

export const image = (id: string, refs: {tags?: string[]; digests?: string[]}, size = 10 * MB, extra: Partial<DfImage> = {}): DfImage => ({
	id: `sha256:${id}`,
	repoTags: refs.tags ?? [],
	repoDigests: refs.digests ?? [],
	created: '2026-11-01T00:00:00.000Z',
	size,
	sharedSize: 0,
	containers: 0,
	parentId: '',
	...extra,
});

export const container = (name: string, state: DiskContainer['state'], imageId: string, extra: Partial<DiskContainer> = {}): DiskContainer => ({
	id: `${name}-id`.padEnd(64, '0'),
	name,
	state,
	project: null,
	service: null,
	image: 'x',
	imageId: `sha256:${imageId}`,
	createdAt: '2026-11-01T00:00:00.000Z',
	finishedAt: state === 'running' ? null : '2026-11-20T00:00:00.000Z',
	logDriver: 'json-file',
	logPath: `/var/lib/docker/containers/${name}/log`,
	mounts: [],
	...extra,
});

export const volume = (name: string, extra: Partial<DfVolume> = {}): DfVolume => ({
	name,
	driver: 'local',
	mountpoint: `/var/lib/docker/volumes/${name}/_data`,
	createdAt: '2026-11-01T00:00:00Z',
	labels: {},
	size: 5 * MB,
	refCount: 0,
	...extra,
});

export const verified = (tag: string, day: number, d: string | null = null, event: ReleaseRecord['event'] = 'verified'): ReleaseRecord => ({
	time: `2026-11-${String(day).padStart(2, '0')}T00:00:00.000Z`,
	event,
	tag,
	digests: {web: d},
	imageIds: {web: null},
	migrationHead: null,
	operator: null,
});

export const template = {service: 'web', raw: `${repo}:\${IMAGE_TAG}`, repository: repo, tagPrefix: '', tagSuffix: ''};

export function facts(partial: Partial<DiskFacts> & {records?: ReleaseRecord[]; current?: string | null} = {}): DiskFacts {
	const records = partial.records ?? [];
	const retention =
		partial.retention === undefined
			? computeRetention({project: 'shop', records, templates: {web: template}, currentTag: partial.current ?? 'v2.0.0', configuredTag: partial.current ?? 'v2.0.0', retain: 2})
			: partial.retention;
	return {
		project: 'shop',
		checkedAt: '2026-11-22T03:00:00.000Z',
		engine: {address: 'unix:///var/run/docker.sock', version: '20.10.24', apiVersion: '1.41', dockerRootDir: '/var/lib/docker', local: true},
		thresholdPercent: 80,
		retainReleases: 2,
		filesystems: [
			{label: 'root', path: '/', device: 1, size: 100 * MB, used: 50 * MB, free: 50 * MB, usedPercent: 50},
			{label: 'docker', path: '/var/lib/docker', device: 1, size: 100 * MB, used: 50 * MB, free: 50 * MB, usedPercent: 50},
			{label: 'state', path: '/var/lib/rollback-console', device: 2, size: 10 * MB, used: 8 * MB, free: 2 * MB, usedPercent: 80},
		],
		df: {layersSize: 0, images: [], containers: [], volumes: [], buildCache: []},
		containers: [],
		layers: new Map(),
		logSizes: new Map(),
		volumeMounts: [],
		volumePeeks: new Map(),
		records,
		releaseProblem: null,
		others: [],
		sharedUnrecorded: new Map(),
		...partial,
		retention,
	};
}
