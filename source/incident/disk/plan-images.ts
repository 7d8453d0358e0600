import {createHash} from 'node:crypto';
import {parseImageRef, repositoryName} from '../../engine/image-ref.js';
import type {DfImage, DiskContainer, DiskUsage, ImageLayers} from '../../engine/types.js';
import {shortId} from '../../presentation/format.js';
import {listed, type DiskAction, type DiskFacts, type Planned, type ProtectedCategory, type ProtectedItem} from './plan-types.js';
import {keepReason, removableReason, type Retention} from './retention.js';

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

const repositoryOf = (ref: string) => repositoryName(parseImageRef(ref));

/** What the image verdict needs besides the image. */
interface ImageContext {
	users: ReadonlyMap<string, DiskContainer[]>;
	removableContainers: ReadonlySet<string>;
	projectRepos: ReadonlySet<string>;
	retention: Retention | null;
	facts: Pick<DiskFacts, 'records' | 'others' | 'sharedUnrecorded'>;
}

/** Why an image of this project's release repositories stays: shared, retained by us or by another project. */
function releaseKeepReason(image: DfImage, repos: readonly string[], ctx: ImageContext): {category: ProtectedCategory; text: string} | null {
	const {retention, facts} = ctx;
	for (const repository of repos) {
		const shared = facts.sharedUnrecorded.get(repository);
		if (shared?.length) {
			return {category: 'other-project', text: `${repository} is shared with compose project ${listed(shared)}, whose releases this box has not recorded — left alone`};
		}
		const ours = retention ? keepReason(retention, image, repository) : 'no release records';
		if (ours) return {category: 'release', text: ours};
		for (const other of facts.others) {
			const theirs = keepReason(other.retention, image, repository);
			if (theirs) return {category: 'release', text: `compose project ${other.retention.project}: ${theirs}`};
		}
	}
	return null;
}

/**
 * One image: removed (its size worked out later) or kept with why. Kept: in use, untagged
 * but pinned by another repository's digest, of another repository, shared with a project
 * whose releases are unknown, or within a project's retention. Removed: dangling, or this
 * project's release beyond retention.
 */
export function imageVerdict(image: DfImage, ctx: ImageContext): {action: DiskAction} | {kept: ProtectedItem} {
	const refs = [...image.repoTags, ...image.repoDigests];
	// Named as this project knows it: an image tagged in another repository too shows our tag.
	const ours = (list: readonly string[]) => list.find(r => ctx.projectRepos.has(repositoryOf(r)));
	const display = ours(image.repoTags) ?? image.repoTags[0] ?? ours(image.repoDigests) ?? image.repoDigests[0] ?? `<none> ${shortId(image.id)}`;
	const keep = (category: ProtectedCategory, reason: string) => ({kept: {kind: 'image' as const, target: image.id, name: display, bytes: image.size, category, reason}});
	const using = ctx.users.get(image.id) ?? [];
	if (using.length > 0 || image.containers > 0) {
		const list = using.map(c => `${c.name} (${c.state})`);
		const allRemovable = using.length > 0 && using.every(c => ctx.removableContainers.has(c.id));
		return keep(
			'in-use',
			using.length === 0
				? `used by ${image.containers} container(s)`
				: `used by ${listed(list)}${allRemovable ? ' — removed by this plan; run `disk` again afterwards to see this image' : ''}`,
		);
	}
	const repos = [...new Set(refs.map(repositoryOf))];
	const foreign = repos.filter(r => !ctx.projectRepos.has(r));
	const remove = (name: string, does: string, detail: string) => ({
		action: {id: `image:${shortId(image.id)}`, kind: 'remove-image' as const, target: image.id, name, bytes: 0, safe: true, typed: null, does, detail},
	});
	if (image.repoTags.length === 0 && image.repoDigests.length === 0) {
		return remove(`<none> ${shortId(image.id)}`, `DELETE /images/${shortId(image.id)} (not forced)`, `dangling: no tag, no digest, no container (created ${image.created.slice(0, 10)})`);
	}
	if (image.repoTags.length === 0 && foreign.length > 0) {
		return keep(
			'digest-of-other-repository',
			`untagged, but still ${image.repoDigests.map(d => d.replace(/@sha256:(.{12}).*/, '@sha256:$1…')).join(', ')}: it may be another project's rollback image, pinned by digest — left alone`,
		);
	}
	if (foreign.length > 0) {
		const theirs = refs.filter(r => foreign.includes(repositoryOf(r)));
		return keep('other-project', repos.length === foreign.length ? `not this project's (${listed(foreign)}) — left alone` : `also ${listed(theirs)}, not this project's — left alone`);
	}
	// From here every reference is in one of this project's release repositories.
	const reason = releaseKeepReason(image, repos, ctx);
	if (reason || !ctx.retention) return keep(reason?.category ?? 'release', reason?.text ?? 'no release records');
	return remove(
		display,
		`DELETE /images/${shortId(image.id)} (not forced; removes ${listed(image.repoTags.length > 0 ? image.repoTags : image.repoDigests)})`,
		removableReason(ctx.retention, ctx.facts.records, image, repos[0]!),
	);
}

/** The Engine will not remove an image another image was built on: a parent whose child stays is kept. */
export function keepParents(removals: readonly DiskAction[], images: readonly DfImage[]): Planned {
	const actions = [...removals];
	const kept: ProtectedItem[] = [];
	const byId = new Map(images.map(i => [i.id, i]));
	for (let changed = true; changed; ) {
		changed = false;
		const removing = new Set(actions.map(a => a.target));
		for (const action of [...actions]) {
			const child = images.find(i => i.parentId === action.target && !removing.has(i.id));
			if (!child) continue;
			actions.splice(actions.indexOf(action), 1);
			const image = byId.get(action.target)!;
			const childName = child.repoTags[0] ?? child.repoDigests[0] ?? `<none> ${shortId(child.id)}`;
			kept.push({kind: 'image', target: image.id, name: action.name, bytes: image.size, category: 'parent-image', reason: `${childName} was built on it and stays: the Engine removes a parent only after its children`});
			changed = true;
		}
	}
	return {actions, kept};
}

/**
 * Images: each one's verdict; parents of images that stay kept; what each removal frees
 * (layers no staying image shares); dangling ones first, then releases oldest first, a
 * child always before its parent.
 */
export function planImages(facts: Pick<DiskFacts, 'df' | 'containers' | 'layers' | 'retention' | 'records' | 'others' | 'sharedUnrecorded'>, removableContainers: ReadonlySet<string>): Planned {
	const {df, containers} = facts;
	const users = new Map<string, DiskContainer[]>();
	for (const c of containers) users.set(c.imageId, [...(users.get(c.imageId) ?? []), c]);
	const ctx: ImageContext = {users, removableContainers, projectRepos: new Set(facts.retention?.repositories ?? []), retention: facts.retention, facts};
	const removals: DiskAction[] = [];
	const kept: ProtectedItem[] = [];
	for (const image of df.images) {
		const verdict = imageVerdict(image, ctx);
		if ('action' in verdict) removals.push(verdict.action);
		else kept.push(verdict.kept);
	}
	const parents = keepParents(removals, df.images);
	const estimates = imageEstimates(parents.actions.map(a => a.target), df.images, facts.layers);
	for (const action of parents.actions) action.bytes = estimates.get(action.target) ?? 0;
	const created = new Map(df.images.map(i => [i.id, i.created]));
	const oldestFirst = (a: DiskAction, b: DiskAction) => (created.get(a.target) ?? '').localeCompare(created.get(b.target) ?? '');
	const dangling = (a: DiskAction) => a.name.startsWith('<none>');
	const ordered = [...parents.actions.filter(dangling).sort(oldestFirst), ...parents.actions.filter(a => !dangling(a)).sort(oldestFirst)];
	return {actions: childrenFirst(ordered, new Map(df.images.map(i => [i.id, i])), facts.layers), kept: [...kept, ...parents.kept]};
}
