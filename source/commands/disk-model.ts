import {join} from 'node:path';
import type {ComposeProject} from '../engine/types.js';
import type {GatheredDisk} from '../incident/disk-gather.js';
import {incidentFiles} from '../incident/incident-store.js';
import {tmpfsFallbackDir} from '../incident/state-dir.js';
import type {DiskModel} from '../ui/console-model.js';

/** Where a log's tail goes when the evidence dir's disk is full: the incident's tmpfs mirror. */
export async function fallbackEvidence(project: string, incident: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
	const root = await tmpfsFallbackDir(env);
	return root ? join(root, project, 'incidents', incident, 'evidence') : null;
}

/**
 * The console's Disk step over the real engine: gathers afresh each time, and runs a list of
 * actions one at a time (recording each, and the totals) against the plan it last gathered.
 * The disk machinery loads when the step is first opened, not with the console.
 */
export function createDiskModel(options: {project: ComposeProject; stateDir: string; incident: {id: string; dir: string}; env?: NodeJS.ProcessEnv}): DiskModel {
	const env = options.env ?? process.env;
	let last: GatheredDisk | null = null;
	const load = async () => {
		const [{connectDisk}, {gatherDisk}, {runDiskPrune}] = await Promise.all([import('./disk.js'), import('../incident/disk-gather.js'), import('../incident/disk-run.js')]);
		return {outside: connectDisk(env), gatherDisk, runDiskPrune};
	};
	let loading: ReturnType<typeof load> | null = null;
	const loaded = () => (loading ??= load());
	return {
		async gather() {
			const {outside, gatherDisk} = await loaded();
			last = await gatherDisk(outside, options.project, {stateDir: options.stateDir});
			return last.report;
		},
		async run(actions, record, onResult) {
			const {outside, gatherDisk, runDiskPrune} = await loaded();
			const gathered = last ?? (await gatherDisk(outside, options.project, {stateDir: options.stateDir}));
			return runDiskPrune(
				{
					engine: gathered.engine,
					host: outside.host,
					report: gathered.report,
					evidenceDir: incidentFiles(options.incident.dir).evidence,
					fallbackDir: () => fallbackEvidence(gathered.report.project, options.incident.id, env),
					record,
				},
				actions,
				onResult ? {onResult} : {},
			);
		},
	};
}
