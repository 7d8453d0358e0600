import {shortId} from '../../presentation/format.js';
import type {DiskContainer} from '../../engine/types.js';
import {listed, type DiskAction, type DiskFacts, type Planned, type ProtectedCategory, type ProtectedItem} from './plan-types.js';

const anonymousName = /^[0-9a-f]{64}$/;

/**
 * Volumes: compose's named volumes, named volumes and volumes in use are kept; an unused
 * anonymous volume may go, only on a typed confirmation, with what it holds and who used it
 * last said beside it.
 */
export function planVolumes(facts: Pick<DiskFacts, 'df' | 'containers' | 'volumeMounts' | 'volumePeeks'>): Planned {
	const {df, containers} = facts;
	const actions: DiskAction[] = [];
	const kept: ProtectedItem[] = [];
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
				`named volume ${v.labels['com.docker.compose.volume']} of compose project ${project}${using.length > 0 ? `, used by ${listed(usingText)}` : ', no container uses it now'}: named volumes are never removed`,
			);
			continue;
		}
		if (using.length > 0 || v.refCount > 0) {
			protect('in-use', using.length > 0 ? `mounted by ${listed(usingText)}` : `mounted by ${v.refCount} container(s)`);
			continue;
		}
		if (!anonymousName.test(v.name)) {
			protect('named-volume', `named volume${project ? ` of compose project ${project}` : ''}, unused: named volumes are never removed`);
			continue;
		}
		const last = facts.volumeMounts.filter(m => m.volume === v.name).sort((a, b) => b.time - a.time);
		const lastNames = [...new Set(last.map(m => m.containerName ?? shortId(m.containerId)))];
		const peek = facts.volumePeeks.get(v.name);
		const content = peek ? (peek.total === 0 ? 'empty' : `holds ${listed(peek.names, 5)}${peek.total > peek.names.length ? ` (${peek.total} entries)` : ''}`) : null;
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
				lastNames.length > 0 ? `last used by ${listed(lastNames)}` : 'which container last used it is no longer in the Engine\'s event buffer',
				...(content ? [content] : []),
			].join('; '),
		});
	}
	return {actions, kept};
}
