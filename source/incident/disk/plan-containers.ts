import {shortId} from '../../presentation/format.js';
import type {DiskAction, DiskFacts, Planned, ProtectedItem} from './plan-types.js';

const stoppedStates = new Set(['exited', 'created', 'dead']);

/**
 * Stopped containers: compose's are kept (compose manages them); any other stopped one is
 * removed, with its writable layer and its log. Running ones are not considered.
 */
export function planContainers(facts: Pick<DiskFacts, 'df' | 'containers' | 'logSizes'>): Planned & {removable: Set<string>} {
	const {df, containers} = facts;
	const actions: DiskAction[] = [];
	const kept: ProtectedItem[] = [];
	const sizeRw = new Map(df.containers.map(c => [c.id, c.sizeRw]));
	const removable = new Set<string>();
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
		removable.add(c.id);
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
	return {actions, kept, removable};
}
