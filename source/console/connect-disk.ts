import {join} from 'node:path';
import {ComposeCli} from '../engine/compose-cli.js';
import {DockerEngine} from '../engine/docker-engine.js';
import {localDiskHost} from '../engine/host-disk.js';
import type {DiskOutside} from '../incident/disk/gather.js';
import {incidentDir, incidentFiles} from '../incident/layout.js';
import {tmpfsFallbackDir} from '../incident/state-dir.js';

/** The real engine, compose and host for `disk` and the console's Disk step. */
export function connectDisk(env: NodeJS.ProcessEnv = process.env): DiskOutside {
	return {compose: new ComposeCli(env), engine: DockerEngine.connect(env), host: localDiskHost};
}

/** Where a log's tail goes when the evidence dir's disk is full: the incident's tmpfs mirror. */
export async function fallbackEvidence(project: string, incident: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
	const root = await tmpfsFallbackDir(env);
	return root ? incidentFiles(incidentDir(join(root, project), incident)).evidence : null;
}
