import {ConsoleError} from '../../errors.js';
import type {DiskUsage} from '../../engine/types.js';
import {planBackups} from './plan-backups.js';
import {planContainers} from './plan-containers.js';
import {planImages} from './plan-images.js';
import {logAction, planLogs} from './plan-logs.js';
import type {DiskAction, DiskFacts, DiskReport, FsLabel, FsReport, ProtectedCategory} from './plan-types.js';
import {planVolumes} from './plan-volumes.js';

export * from './plan-types.js';
export {imageEstimates, layerSizes} from './plan-images.js';
export {logAction} from './plan-logs.js';

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

const largestLogs = 5;
// What the operator most needs to see kept comes first.
const keptOrder: ProtectedCategory[] = ['release', 'compose-volume', 'named-volume', 'in-use', 'parent-image', 'compose-container', 'other-project', 'digest-of-other-repository'];

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

/** Unused build cache, pruned whole; none at all is worth a note (the legacy builder keeps none). */
function planBuildCache(docker: DiskReport['docker']): {actions: DiskAction[]; notes: string[]} {
	if (docker.buildCache.reclaimable > 0) {
		return {
			actions: [
				{
					id: 'build-cache',
					kind: 'prune-build-cache',
					target: 'build-cache',
					name: 'build cache',
					bytes: docker.buildCache.reclaimable,
					safe: true,
					typed: null,
					does: 'POST /build/prune (unused cache only)',
					detail: `${docker.buildCache.total - docker.buildCache.active} unused cache records`,
				},
			],
			notes: [],
		};
	}
	return {actions: [], notes: docker.buildCache.total === 0 ? ['build cache: none (the legacy builder keeps no BuildKit cache); nothing to prune'] : []};
}

/** Each filesystem against the threshold; one that is the same device as an earlier one says so. */
function usage(facts: Pick<DiskFacts, 'filesystems' | 'thresholdPercent'>): FsReport[] {
	const seen: Array<{device: number; label: FsLabel}> = [];
	return facts.filesystems.map(f => {
		const same = seen.find(s => s.device === f.device)?.label ?? null;
		seen.push({device: f.device, label: f.label});
		return {...f, over: f.usedPercent >= facts.thresholdPercent, sameAs: same};
	});
}

/** The plan: each kind's planner in turn (containers first: an image or log they take goes with them). */
export function buildDiskPlan(facts: DiskFacts): DiskReport {
	const dockerFs = facts.filesystems.find(f => f.label === 'docker');
	const stateFs = facts.filesystems.find(f => f.label === 'state');
	const savedOnSameDisk = Boolean(dockerFs && stateFs && dockerFs.device === stateFs.device);
	const docker = summarise(facts.df);

	const containers = planContainers(facts);
	const images = planImages(facts, containers.removable);
	const cache = planBuildCache(docker);
	const volumes = planVolumes(facts);
	const logs = planLogs(facts, containers.removable, savedOnSameDisk);
	const backups = planBackups(facts, Date.parse(facts.checkedAt));
	const actions = [...containers.actions, ...images.actions, ...cache.actions, ...volumes.actions, ...logs.actions, ...backups.actions];
	const kept = [...containers.kept, ...images.kept, ...volumes.kept].sort((a, b) => keptOrder.indexOf(a.category) - keptOrder.indexOf(b.category));
	const notes = [...cache.notes, ...backups.notes];
	if (!facts.engine.local) notes.push(`the Engine is at ${facts.engine.address}: its disk is not this box's, so Docker's root dir and its log files are not measured here`);
	if (facts.releaseProblem) notes.push(`no release images are pruned: ${facts.releaseProblem}`);

	const filesystems = usage(facts);
	const estimate = {
		safe: actions.filter(a => a.safe).reduce((sum, a) => sum + a.bytes, 0),
		optional: actions.filter(a => !a.safe).reduce((sum, a) => sum + a.bytes, 0),
	};
	const {retention} = facts;
	return {
		project: facts.project,
		checkedAt: facts.checkedAt,
		engine: facts.engine,
		thresholdPercent: facts.thresholdPercent,
		retainReleases: facts.retainReleases,
		over: filesystems.some(f => f.over),
		filesystems,
		docker,
		logs: logs.logs.slice(0, largestLogs),
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
	named: {volumes: readonly string[]; logs: readonly string[]; backups?: readonly string[]},
): DiskAction[] {
	const actions = report.plan.actions;
	const chosen = actions.filter(a => a.safe);
	for (const name of named.backups ?? []) {
		const action = actions.find(a => a.kind === 'remove-backup' && (a.name === name || a.target === name));
		if (!action) throw new ConsoleError(`backup:${name}: not a database backup older than the retention (run \`disk\` to see them; newer ones are kept)`);
		if (!chosen.includes(action)) chosen.push(action);
	}
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
