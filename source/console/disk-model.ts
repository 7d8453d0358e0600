import type {ComposeProject} from '../engine/types.js';
import type {GatheredDisk} from '../incident/disk/gather.js';
import {incidentFiles} from '../incident/layout.js';
import {fallbackEvidence} from './connect-disk.js';
import type {DiskModel} from '../ui/console-model.js';

/**
 * The console's Disk step over the real engine: gathers afresh each time, and runs a list of
 * actions one at a time (recording each, and the totals) against the plan it last gathered.
 * The disk machinery loads when the step is first opened, not with the console.
 */
export function createDiskModel(options: {project: ComposeProject; stateDir: string; incident: {id: string; dir: string}; env?: NodeJS.ProcessEnv}): DiskModel {
	const env = options.env ?? process.env;
	let last: GatheredDisk | null = null;
	const load = async () => {
		const [{connectDisk}, {gatherDisk}, {runDiskStep}] = await Promise.all([import('./connect-disk.js'), import('../incident/disk/gather.js'), import('../incident/disk/run.js')]);
		return {outside: connectDisk(env), gatherDisk, runDiskStep};
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
			const {outside, gatherDisk, runDiskStep} = await loaded();
			const gathered = last ?? (await gatherDisk(outside, options.project, {stateDir: options.stateDir}));
			return runDiskStep(
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
