import {createHash} from 'node:crypto';
import {ConsoleError} from '../../errors.js';
import type {DiskContainer, DiskUsage, FsUsage, ImageLayers, VolumeMountEvent} from '../../engine/types.js';
import {parseImageRef, repositoryName} from '../../engine/image-ref.js';
import {keepReason, removableReason, type Retention} from './retention.js';
import type {ReleaseRecord} from '../stabilise/releases.js';
import {shortId} from '../../presentation/format.js';

/**
 * The Disk step's plan, from facts gathered beforehand (disk-gather.ts): pure, so every
 * rule is tested without an engine. Each thing on the box that could free space is either
 * an action (with its size) or a protected item (with why it stays).
 *
 * What a prune may remove, by default ("safe"): stopped containers compose did not create;
 * dangling images that carry no digest of another project's repository; this project's
 * release images beyond retention; unused build cache. Only on an explicit per-item
 * confirmation: anonymous unused volumes, and truncating a runaway json-file log after its
 * tail is saved. Never: named volumes, images any container uses, images of other
 * repositories, an image tagged in another repository too.
 */

export type DiskActionKind = 'remove-container' | 'remove-image' | 'prune-build-cache' | 'remove-volume' | 'truncate-log';

export interface DiskAction {
	/** Stable within a report: `container:<id>`, `image:<id>`, `build-cache`, `volume:<name>`, `log:<container id>`. */
	id: string;
	kind: DiskActionKind;
	/** The ID or name the Engine call uses. */
	target: string;
	/** What the operator recognises: a container name, an image reference, a volume name. */
	name: string;
	/** The estimate of bytes it frees. */
	bytes: number;
	/** Part of `disk prune --yes` without per-item flags. */
	safe: boolean;
	/** What to type to confirm, for destructive optional items (the first 12 characters of the name). */
	typed: string | null;
	/** Exactly what it does: the Engine call or the file operation. */
	does: string;
	/** Why it may go. */
	detail: string;
	/** The log file, for truncate-log. */
	path?: string;
}

export type ProtectedCategory =
	| 'in-use'
	| 'release'
	| 'other-project'
	| 'compose-container'
	| 'named-volume'
	| 'compose-volume'
	| 'digest-of-other-repository'
	| 'parent-image';

export interface ProtectedItem {
	kind: 'image' | 'container' | 'volume';
	target: string;
	name: string;
	bytes: number;
	category: ProtectedCategory;
	reason: string;
}

export type FsLabel = 'root' | 'docker' | 'state';

export interface FsReport extends FsUsage {
	label: FsLabel;
	over: boolean;
	/** The label of an earlier entry on the same filesystem. */
	sameAs: FsLabel | null;
}

export interface DfSummary {
	total: number;
	active: number;
	size: number;
	reclaimable: number;
}

export interface LogFile {
	containerId: string;
	container: string;
	project: string | null;
	service: string | null;
	state: string;
	path: string;
	size: number;
	allocated: number;
}

export interface DiskReport {
	project: string;
	checkedAt: string;
	engine: {address: string; version: string; apiVersion: string; dockerRootDir: string; local: boolean};
	thresholdPercent: number;
	retainReleases: number;
	/** Some watched filesystem is at or above the threshold. */
	over: boolean;
	filesystems: FsReport[];
	/** Docker's own breakdown (GET /system/df), with what Docker considers reclaimable. */
	docker: {images: DfSummary; containers: DfSummary; volumes: DfSummary; buildCache: DfSummary};
	/** The largest json-file container logs. */
	logs: LogFile[];
	releases: {
		repositories: string[];
		current: string | null;
		lastKnownGood: string | null;
		kept: Array<{tag: string; reason: string}>;
	} | null;
	plan: {
		actions: DiskAction[];
		protected: ProtectedItem[];
		/** Bytes the safe actions free together, and the optional ones. */
		estimate: {safe: number; optional: number};
	};
	/** Things the operator should know: no release records, a remote engine, … */
	notes: string[];
}

export interface DiskFacts {
	project: string;
	checkedAt: string;
	engine: DiskReport['engine'];
	thresholdPercent: number;
	retainReleases: number;
	filesystems: Array<FsUsage & {label: FsLabel}>;
	df: DiskUsage;
	containers: DiskContainer[];
	/** Image ID → its layers and history (null: unknown; the estimate falls back to system df's unique size). */
	layers: ReadonlyMap<string, ImageLayers | null>;
	/** Container ID → its log file's size, for json-file logs that could be read. */
	logSizes: ReadonlyMap<string, {size: number; allocated: number}>;
	volumeMounts: VolumeMountEvent[];
	/** Volume name → its top-level entries, for unused anonymous volumes. */
	volumePeeks: ReadonlyMap<string, {names: string[]; total: number} | null>;
	/** Null when the project's release services could not be worked out (see releaseProblem). */
	retention: Retention | null;
	records: readonly ReleaseRecord[];
	releaseProblem: string | null;
	/** Other compose projects running images of our release repositories, with their own records. */
	others: Array<{retention: Retention; records: readonly ReleaseRecord[]}>;
	/** Release repository → other compose projects using it that have no records on this box. */
	sharedUnrecorded: ReadonlyMap<string, string[]>;
}

/** Logs at least this big are "runaway": the plan offers to truncate them (after saving the tail). */
export const RUNAWAY_LOG_BYTES = 10 * 1024 * 1024;
/** What is saved of a log before truncating it. */
export const LOG_TAIL = {maxLines: 10_000, maxBytes: 10 * 1024 * 1024};
/** json-file lines gzip to about a tenth; used only to estimate what saving the tail costs. */
const gzipRatio = 0.1;
const largestLogs = 5;

const anonymousName = /^[0-9a-f]{64}$/;
const stoppedStates = new Set(['exited', 'created', 'dead']);

function names(list: readonly string[], max = 3): string {
	return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

/** Sizes of each RootFS layer, oldest first, from the history; null when they cannot be matched up. */
export function layerSizes(image: ImageLayers): number[] | null {
	const count = image.layers.length;
	const nonzero = image.history.filter(h => h.size > 0).length;
	const zeros = image.history.filter(h => h.size === 0);
	const emptyLayers = count - nonzero;
	if (emptyLayers < 0) return null;
	// History entries of size 0 are either metadata steps (ENV, LABEL…) or layers that added
	// nothing. When the counts do not settle it, metadata steps are the builder's `#(nop)`s.
	let isLayer: (h: {size: number; createdBy: string}) => boolean;
	if (zeros.length === emptyLayers) isLayer = () => true;
	else {
		const metadata = /^(\/bin\/sh -c #\(nop\)\s+)?(ENV|LABEL|CMD|ENTRYPOINT|EXPOSE|ARG|USER|WORKDIR|VOLUME|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|MAINTAINER)\b/i;
		const guess = zeros.filter(h => !metadata.test(h.createdBy.trim())).length;
		if (guess !== emptyLayers) return null;
		isLayer = h => !metadata.test(h.createdBy.trim());
	}
	const sizes = image.history.filter(h => h.size > 0 || isLayer(h)).map(h => h.size);
	return sizes.length === count ? sizes : null;
}

/** One key per layer that names the layer with everything under it (as a chain ID does). */
function chainKeys(layers: readonly string[]): string[] {
	const keys: string[] = [];
	let previous = '';
	for (const diffId of layers) {
		previous = previous === '' ? diffId : createHash('sha256').update(`${previous} ${diffId}`).digest('hex');
		keys.push(previous);
	}
	return keys;
}

/**
 * Bytes each removed image frees: its layers that no image staying on the box shares, each
 * layer counted once (for the first image that has it). An image whose layers cannot be
 * matched with their sizes falls back to system df's size minus shared size.
 */
export function imageEstimates(removed: readonly string[], all: DiskUsage['images'], layers: ReadonlyMap<string, ImageLayers | null>): Map<string, number> {
	const removing = new Set(removed);
	const kept = new Set<string>();
	for (const image of all) {
		if (removing.has(image.id)) continue;
		const info = layers.get(image.id);
		if (info) for (const key of chainKeys(info.layers)) kept.add(key);
	}
	const counted = new Set<string>();
	const result = new Map<string, number>();
	for (const id of removed) {
		const info = layers.get(id);
		const sizes = info ? layerSizes(info) : null;
		const df = all.find(i => i.id === id);
		if (!info || !sizes) {
			result.set(id, df ? Math.max(0, df.size - Math.max(0, df.sharedSize)) : 0);
			continue;
		}
		let bytes = 0;
		chainKeys(info.layers).forEach((key, i) => {
			if (kept.has(key) || counted.has(key)) return;
			counted.add(key);
			bytes += sizes[i] ?? 0;
		});
		result.set(id, bytes);
	}
	return result;
}

function summarise(df: DiskUsage): DiskReport['docker'] {
	// As `docker system df` computes them.
	let usedByActive = 0;
	for (const i of df.images) if (i.containers > 0 && i.sharedSize >= 0) usedByActive += i.size - i.sharedSize;
	const containersSize = df.containers.reduce((sum, c) => sum + c.sizeRw, 0);
	const volumeSize = (v: {size: number}) => Math.max(0, v.size);
	const cache = df.buildCache.filter(b => !b.shared);
	return {
		images: {
			total: df.images.length,
			active: df.images.filter(i => i.containers > 0).length,
			size: df.layersSize,
			reclaimable: Math.max(0, df.layersSize - usedByActive),
		},
		containers: {
			total: df.containers.length,
			active: df.containers.filter(c => c.state === 'running').length,
			size: containersSize,
			reclaimable: df.containers.filter(c => c.state !== 'running').reduce((sum, c) => sum + c.sizeRw, 0),
		},
		volumes: {
			total: df.volumes.length,
			active: df.volumes.filter(v => v.refCount > 0).length,
			size: df.volumes.reduce((sum, v) => sum + volumeSize(v), 0),
			reclaimable: df.volumes.filter(v => v.refCount === 0).reduce((sum, v) => sum + volumeSize(v), 0),
		},
		buildCache: {
			total: df.buildCache.length,
			active: df.buildCache.filter(b => b.inUse).length,
			size: cache.reduce((sum, b) => sum + b.size, 0),
			reclaimable: cache.filter(b => !b.inUse).reduce((sum, b) => sum + b.size, 0),
		},
	};
}

const repositoryOf = (ref: string) => repositoryName(parseImageRef(ref));

/** The plan's log action for one container's json-file log (also built for `log:NAME` on the command line). */
export function logAction(container: Pick<DiskContainer, 'id' | 'name' | 'logPath' | 'state'>, size: {size: number; allocated: number}, savedOnSameDisk: boolean): DiskAction {
	const tail = Math.min(size.size, LOG_TAIL.maxBytes);
	const cost = savedOnSameDisk ? Math.round(tail * gzipRatio) : 0;
	return {
		id: `log:${shortId(container.id)}`,
		kind: 'truncate-log',
		target: container.id,
		name: container.name,
		bytes: Math.max(0, size.allocated - cost),
		safe: false,
		typed: container.name.slice(0, 12),
		does: `save the last ${LOG_TAIL.maxLines.toLocaleString('en-US')} lines (at most 10 MiB) gzipped into the incident's evidence, then empty ${container.logPath} in place (open O_WRONLY|O_TRUNC, as truncate -s 0)`,
		detail: `json-file log of ${container.name} (${container.state})`,
		...(container.logPath ? {path: container.logPath} : {}),
	};
}

/** Whether `child` was built on `parent`: its parent link, or its layers extending the parent's. */
function builtOn(child: string, parent: string, images: ReadonlyMap<string, {parentId: string}>, layers: ReadonlyMap<string, ImageLayers | null>): boolean {
	if (images.get(child)?.parentId === parent) return true;
	const [c, p] = [layers.get(child)?.layers, layers.get(parent)?.layers];
	return Boolean(c && p && c.length > p.length && p.every((layer, i) => c[i] === layer));
}

/** `ordered`, with each image moved after every image in the list built on it (the Engine removes children first). */
function childrenFirst(ordered: DiskAction[], images: ReadonlyMap<string, {parentId: string}>, layers: ReadonlyMap<string, ImageLayers | null>): DiskAction[] {
	const result: DiskAction[] = [];
	const pending = [...ordered];
	while (pending.length > 0) {
		const next = pending.findIndex(a => !pending.some(b => b !== a && builtOn(b.target, a.target, images, layers)));
		// A cycle cannot happen; should the data say otherwise, keep the order given.
		result.push(...pending.splice(next === -1 ? 0 : next, 1));
	}
	return result;
}

export function buildDiskPlan(facts: DiskFacts): DiskReport {
	const {df, containers, retention} = facts;
	const actions: DiskAction[] = [];
	const kept: ProtectedItem[] = [];
	const notes: string[] = [];

	const dockerFs = facts.filesystems.find(f => f.label === 'docker');
	const stateFs = facts.filesystems.find(f => f.label === 'state');
	const savedOnSameDisk = Boolean(dockerFs && stateFs && dockerFs.device === stateFs.device);

	// ---- containers
	const sizeRw = new Map(df.containers.map(c => [c.id, c.sizeRw]));
	const removableContainers = new Set<string>();
	for (const c of containers) {
		if (!stoppedStates.has(c.state)) continue;
		if (c.project) {
			kept.push({
				kind: 'container',
				target: c.id,
				name: c.name,
				bytes: sizeRw.get(c.id) ?? 0,
				category: 'compose-container',
				reason: `${c.state} container of compose project ${c.project}${c.service ? ` (service ${c.service})` : ''}: compose manages it`,
			});
			continue;
		}
		removableContainers.add(c.id);
		const log = facts.logSizes.get(c.id);
		actions.push({
			id: `container:${shortId(c.id)}`,
			kind: 'remove-container',
			target: c.id,
			name: c.name,
			bytes: (sizeRw.get(c.id) ?? 0) + (log?.allocated ?? 0),
			safe: true,
			typed: null,
			does: `DELETE /containers/${shortId(c.id)} (not forced; its volumes are kept)`,
			detail: `${c.state}${c.finishedAt ? ` since ${c.finishedAt.slice(0, 16).replace('T', ' ')} UTC` : ''}, not created by compose (image ${c.image})`,
		});
	}

	// ---- images
	const users = new Map<string, DiskContainer[]>();
	for (const c of containers) users.set(c.imageId, [...(users.get(c.imageId) ?? []), c]);
	const projectRepos = new Set(retention?.repositories ?? []);
	const imageActions: DiskAction[] = [];
	for (const image of df.images) {
		const refs = [...image.repoTags, ...image.repoDigests];
		const display = image.repoTags[0] ?? image.repoDigests[0] ?? `<none> ${shortId(image.id)}`;
		const protect = (category: ProtectedCategory, reason: string) =>
			kept.push({kind: 'image', target: image.id, name: display, bytes: image.size, category, reason});
		const using = users.get(image.id) ?? [];
		if (using.length > 0 || image.containers > 0) {
			const list = using.map(c => `${c.name} (${c.state})`);
			const allRemovable = using.length > 0 && using.every(c => removableContainers.has(c.id));
			protect(
				'in-use',
				using.length === 0
					? `used by ${image.containers} container(s)`
					: `used by ${names(list)}${allRemovable ? ' — removed by this plan; run `disk` again afterwards to see this image' : ''}`,
			);
			continue;
		}
		const repos = [...new Set(refs.map(repositoryOf))];
		const foreign = repos.filter(r => !projectRepos.has(r));
		if (image.repoTags.length === 0 && image.repoDigests.length === 0) {
			imageActions.push({
				id: `image:${shortId(image.id)}`,
				kind: 'remove-image',
				target: image.id,
				name: `<none> ${shortId(image.id)}`,
				bytes: 0,
				safe: true,
				typed: null,
				does: `DELETE /images/${shortId(image.id)} (not forced)`,
				detail: `dangling: no tag, no digest, no container (created ${image.created.slice(0, 10)})`,
			});
			continue;
		}
		if (image.repoTags.length === 0 && foreign.length > 0) {
			protect(
				'digest-of-other-repository',
				`untagged, but still ${image.repoDigests.map(d => d.replace(/@sha256:(.{12}).*/, '@sha256:$1…')).join(', ')}: it may be another project's rollback image, pinned by digest — left alone`,
			);
			continue;
		}
		if (foreign.length > 0) {
			const theirs = refs.filter(r => foreign.includes(repositoryOf(r)));
			protect(
				'other-project',
				repos.length === foreign.length
					? `not this project's (${names(foreign)}) — left alone`
					: `also ${names(theirs)}, not this project's — left alone`,
			);
			continue;
		}
		// From here every reference is in one of this project's release repositories.
		let reason: {category: ProtectedCategory; text: string} | null = null;
		for (const repository of repos) {
			const shared = facts.sharedUnrecorded.get(repository);
			if (shared?.length) {
				reason = {category: 'other-project', text: `${repository} is shared with compose project ${names(shared)}, whose releases this box has not recorded — left alone`};
				break;
			}
			const ours = retention ? keepReason(retention, image, repository) : 'no release records';
			if (ours) {
				reason = {category: 'release', text: ours};
				break;
			}
			for (const other of facts.others) {
				const theirs = keepReason(other.retention, image, repository);
				if (theirs) {
					reason = {category: 'release', text: `compose project ${other.retention.project}: ${theirs}`};
					break;
				}
			}
			if (reason) break;
		}
		if (reason || !retention) {
			protect(reason?.category ?? 'release', reason?.text ?? 'no release records');
			continue;
		}
		const repository = repos[0]!;
		imageActions.push({
			id: `image:${shortId(image.id)}`,
			kind: 'remove-image',
			target: image.id,
			name: display,
			bytes: 0,
			safe: true,
			typed: null,
			does: `DELETE /images/${shortId(image.id)} (not forced; removes ${names(image.repoTags.length > 0 ? image.repoTags : image.repoDigests)})`,
			detail: removableReason(retention, facts.records, image, repository),
		});
	}
	// The Engine will not remove an image another image was built on: keep a parent whose child stays.
	const byId = new Map(df.images.map(i => [i.id, i]));
	for (let changed = true; changed; ) {
		changed = false;
		const removing = new Set(imageActions.map(a => a.target));
		for (const action of [...imageActions]) {
			const child = df.images.find(i => i.parentId === action.target && !removing.has(i.id));
			if (!child) continue;
			imageActions.splice(imageActions.indexOf(action), 1);
			const image = byId.get(action.target)!;
			const childName = child.repoTags[0] ?? child.repoDigests[0] ?? `<none> ${shortId(child.id)}`;
			kept.push({kind: 'image', target: image.id, name: action.name, bytes: image.size, category: 'parent-image', reason: `${childName} was built on it and stays: the Engine removes a parent only after its children`});
			changed = true;
		}
	}
	const estimates = imageEstimates(imageActions.map(a => a.target), df.images, facts.layers);
	for (const action of imageActions) action.bytes = estimates.get(action.target) ?? 0;
	// Dangling first, then release images oldest first; but a child always before its parent.
	const created = new Map(df.images.map(i => [i.id, i.created]));
	const oldestFirst = (a: DiskAction, b: DiskAction) => (created.get(a.target) ?? '').localeCompare(created.get(b.target) ?? '');
	const dangling = (a: DiskAction) => a.name.startsWith('<none>');
	actions.push(...childrenFirst([...imageActions.filter(dangling).sort(oldestFirst), ...imageActions.filter(a => !dangling(a)).sort(oldestFirst)], byId, facts.layers));

	// ---- build cache
	const docker = summarise(df);
	if (docker.buildCache.reclaimable > 0) {
		actions.push({
			id: 'build-cache',
			kind: 'prune-build-cache',
			target: 'build-cache',
			name: 'build cache',
			bytes: docker.buildCache.reclaimable,
			safe: true,
			typed: null,
			does: 'POST /build/prune (unused cache only)',
			detail: `${docker.buildCache.total - docker.buildCache.active} unused cache records`,
		});
	} else if (docker.buildCache.total === 0) {
		notes.push('build cache: none (the legacy builder keeps no BuildKit cache); nothing to prune');
	}

	// ---- volumes
	const mountedBy = new Map<string, DiskContainer[]>();
	for (const c of containers) {
		for (const m of c.mounts) if (m.type === 'volume' && m.name) mountedBy.set(m.name, [...(mountedBy.get(m.name) ?? []), c]);
	}
	for (const v of df.volumes) {
		const using = mountedBy.get(v.name) ?? [];
		const usingText = using.map(c => `${c.name} (${c.state})`);
		const bytes = Math.max(0, v.size);
		const project = v.labels['com.docker.compose.project'];
		const protect = (category: ProtectedCategory, reason: string) => kept.push({kind: 'volume', target: v.name, name: v.name, bytes, category, reason});
		if (project && v.labels['com.docker.compose.volume']) {
			protect(
				'compose-volume',
				`named volume ${v.labels['com.docker.compose.volume']} of compose project ${project}${using.length > 0 ? `, used by ${names(usingText)}` : ', no container uses it now'}: named volumes are never removed`,
			);
			continue;
		}
		if (using.length > 0 || v.refCount > 0) {
			protect('in-use', using.length > 0 ? `mounted by ${names(usingText)}` : `mounted by ${v.refCount} container(s)`);
			continue;
		}
		if (!anonymousName.test(v.name)) {
			protect('named-volume', `named volume${project ? ` of compose project ${project}` : ''}, unused: named volumes are never removed`);
			continue;
		}
		const last = facts.volumeMounts.filter(m => m.volume === v.name).sort((a, b) => b.time - a.time);
		const lastNames = [...new Set(last.map(m => m.containerName ?? shortId(m.containerId)))];
		const peek = facts.volumePeeks.get(v.name);
		const content = peek ? (peek.total === 0 ? 'empty' : `holds ${names(peek.names, 5)}${peek.total > peek.names.length ? ` (${peek.total} entries)` : ''}`) : null;
		actions.push({
			id: `volume:${v.name.slice(0, 12)}`,
			kind: 'remove-volume',
			target: v.name,
			name: v.name,
			bytes,
			safe: false,
			typed: v.name.slice(0, 12),
			does: `DELETE /volumes/${v.name} (not forced)`,
			detail: [
				`anonymous volume${v.createdAt ? ` created ${v.createdAt.slice(0, 16).replace('T', ' ')}` : ''}, no container uses it`,
				lastNames.length > 0 ? `last used by ${names(lastNames)}` : 'which container last used it is no longer in the Engine\'s event buffer',
				...(content ? [content] : []),
			].join('; '),
		});
	}

	// ---- logs
	const logs: LogFile[] = [];
	for (const c of containers) {
		const size = facts.logSizes.get(c.id);
		if (!size || !c.logPath) continue;
		logs.push({containerId: c.id, container: c.name, project: c.project, service: c.service, state: c.state, path: c.logPath, size: size.size, allocated: size.allocated});
	}
	logs.sort((a, b) => b.allocated - a.allocated || a.container.localeCompare(b.container));
	for (const log of logs) {
		// A removed container's log goes with it.
		if (log.allocated < RUNAWAY_LOG_BYTES || removableContainers.has(log.containerId)) continue;
		const c = containers.find(x => x.id === log.containerId)!;
		actions.push(logAction(c, log, savedOnSameDisk));
	}
	if (!facts.engine.local) notes.push(`the Engine is at ${facts.engine.address}: its disk is not this box's, so Docker's root dir and its log files are not measured here`);
	if (facts.releaseProblem) notes.push(`no release images are pruned: ${facts.releaseProblem}`);

	// ---- usage
	const seen: Array<{device: number; label: FsLabel}> = [];
	const filesystems: FsReport[] = facts.filesystems.map(f => {
		const same = seen.find(s => s.device === f.device)?.label ?? null;
		seen.push({device: f.device, label: f.label});
		return {...f, over: f.usedPercent >= facts.thresholdPercent, sameAs: same};
	});

	// What the operator most needs to see kept comes first.
	const order: ProtectedCategory[] = ['release', 'compose-volume', 'named-volume', 'in-use', 'parent-image', 'compose-container', 'other-project', 'digest-of-other-repository'];
	kept.sort((a, b) => order.indexOf(a.category) - order.indexOf(b.category));

	const estimate = {
		safe: actions.filter(a => a.safe).reduce((sum, a) => sum + a.bytes, 0),
		optional: actions.filter(a => !a.safe).reduce((sum, a) => sum + a.bytes, 0),
	};
	return {
		project: facts.project,
		checkedAt: facts.checkedAt,
		engine: facts.engine,
		thresholdPercent: facts.thresholdPercent,
		retainReleases: facts.retainReleases,
		over: filesystems.some(f => f.over),
		filesystems,
		docker,
		logs: logs.slice(0, largestLogs),
		releases: retention
			? {repositories: retention.repositories, current: retention.current, lastKnownGood: retention.lastKnownGood, kept: retention.kept}
			: null,
		plan: {actions, protected: kept, estimate},
		notes,
	};
}

/**
 * What `disk prune` runs: the safe actions, plus each anonymous volume and log the operator
 * named on purpose (`--volume NAME`, `log:CONTAINER`). A name that is protected, unknown or
 * ambiguous is refused with why, before anything runs.
 */
export function selectActions(
	report: DiskReport,
	facts: Pick<DiskFacts, 'containers' | 'logSizes'>,
	named: {volumes: readonly string[]; logs: readonly string[]},
): DiskAction[] {
	const actions = report.plan.actions;
	const chosen = actions.filter(a => a.safe);
	for (const name of named.volumes) {
		const exact = actions.find(a => a.kind === 'remove-volume' && a.target === name);
		const prefixed = name.length >= 12 ? actions.filter(a => a.kind === 'remove-volume' && a.target.startsWith(name)) : [];
		const action = exact ?? (prefixed.length === 1 ? prefixed[0] : undefined);
		if (!action) {
			const kept = report.plan.protected.find(p => p.kind === 'volume' && (p.target === name || (name.length >= 12 && p.target.startsWith(name))));
			if (kept) throw new ConsoleError(`--volume ${name}: protected — ${kept.reason}`);
			if (prefixed.length > 1) throw new ConsoleError(`--volume ${name}: matches ${prefixed.length} volumes; give more of the name`);
			throw new ConsoleError(`--volume ${name}: no unused anonymous volume of that name (run \`disk\` to see them; at least its first 12 characters)`);
		}
		if (!chosen.includes(action)) chosen.push(action);
	}
	const dockerFs = report.filesystems.find(f => f.label === 'docker');
	const stateFs = report.filesystems.find(f => f.label === 'state');
	for (const name of named.logs) {
		const container =
			facts.containers.find(c => c.name === name) ??
			(name.length >= 12 ? facts.containers.find(c => c.id.startsWith(name)) : undefined);
		if (!container) throw new ConsoleError(`log:${name}: no container of that name (or ID, at least 12 characters)`);
		if (chosen.some(a => a.kind === 'remove-container' && a.target === container.id)) {
			throw new ConsoleError(`log:${name}: the plan removes ${container.name} already, and its log with it`);
		}
		const size = facts.logSizes.get(container.id);
		if (!container.logPath || !size) {
			throw new ConsoleError(
				`log:${name}: ${container.logPath ? `${container.logPath} cannot be read here` : `${container.name} logs with the ${container.logDriver || 'unknown'} driver, not json-file`}: nothing to truncate`,
			);
		}
		const action = actions.find(a => a.kind === 'truncate-log' && a.target === container.id) ?? logAction(container, size, Boolean(dockerFs && stateFs && dockerFs.device === stateFs.device));
		if (!chosen.includes(action)) chosen.push(action);
	}
	return chosen;
}
