import type {DiskContainer} from '../../engine/types.js';
import {shortId} from '../../presentation/format.js';
import {LOG_TAIL, RUNAWAY_LOG_BYTES, type DiskAction, type DiskFacts, type LogFile} from './plan-types.js';

/** json-file lines gzip to about a tenth; used only to estimate what saving the tail costs. */
const gzipRatio = 0.1;

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

/**
 * The json-file logs, largest first; a runaway one (RUNAWAY_LOG_BYTES or more) may be
 * truncated, on a typed confirmation, after its tail is saved — unless its container goes
 * anyway (its log with it).
 */
export function planLogs(facts: Pick<DiskFacts, 'containers' | 'logSizes'>, removableContainers: ReadonlySet<string>, savedOnSameDisk: boolean): {actions: DiskAction[]; logs: LogFile[]} {
	const {containers} = facts;
	const actions: DiskAction[] = [];
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
	return {actions, logs};
}
