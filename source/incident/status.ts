import type {StatusEngine} from '../engine/status-engine.js';
import type {Compose, ComposeProject, ImageInfo} from '../engine/types.js';
import {buildServiceStatus, type ProjectStatus} from './service-status.js';
import {parseSettings, type Settings} from './settings.js';

export interface LoadedProject {
	project: ComposeProject;
	/** The project name compose resolved (-p, COMPOSE_PROJECT_NAME, `name:` or the directory). */
	name: string;
	config: Awaited<ReturnType<Compose['config']>>;
	settings: Settings;
}

/** Reads the Compose file through compose itself and validates our extension in it. */
export async function loadProject(compose: Compose, project: ComposeProject): Promise<LoadedProject> {
	const config = await compose.config(project);
	return {project, name: config.name, config, settings: parseSettings(config.extension)};
}

/** One look at the project: what the Compose file declares joined with what runs. */
export async function gatherStatus(
	outside: {compose: Compose; engine: StatusEngine | Promise<StatusEngine>},
	project: ComposeProject,
	now: () => number = Date.now,
): Promise<{loaded: LoadedProject; status: ProjectStatus}> {
	// Compose's parse runs in a child process: start it first, so it overlaps with
	// connecting to the engine (loading the client library is the slow part of start-up).
	const loading = loadProject(outside.compose, project);
	const engine = await outside.engine;
	// The Engine's /version is its slowest answer (~8 ms, it asks containerd): it runs beside
	// everything else. Its error (unreachable, API too old) is the one reported, if any.
	const asking = engine.version();
	// A name given by -p or COMPOSE_PROJECT_NAME is the one compose uses: its containers can be
	// listed while the config resolves (checked against the resolved name below).
	const early = project.name !== null ? engine.projectContainers(project.name) : null;
	early?.catch(() => {});
	const looking = (async () => {
		const loaded = await loading;
		const windowMs = loaded.settings.status.crashWindowMs;
		// One short /events read beside the container list: restarts caught between two crashes.
		const [containers, events] = await Promise.all([
			early && loaded.name === project.name ? early : engine.projectContainers(loaded.name),
			engine.recentEvents ? engine.recentEvents(loaded.name, windowMs) : Promise.resolve([]),
		]);
		const imageIds = [...new Set(containers.map(c => c.imageId))];
		const images = new Map<string, ImageInfo>();
		await Promise.all(
			imageIds.map(async id => {
				const info = await engine.image(id);
				if (info) images.set(id, info);
			}),
		);
		return {loaded, windowMs, containers, events, images};
	})();
	const [versionResult, lookResult] = await Promise.allSettled([asking, looking]);
	if (versionResult.status === 'rejected') throw versionResult.reason;
	if (lookResult.status === 'rejected') throw lookResult.reason;
	const version = versionResult.value;
	const {loaded, windowMs, containers, events, images} = lookResult.value;
	const services = buildServiceStatus(loaded.config, containers, images, now(), {events, windowMs});
	return {
		loaded,
		status: {
			project: loaded.name,
			workingDir: project.workingDir,
			engine: {address: engine.address, version: version.version, apiVersion: version.apiVersion},
			checkedAt: new Date(now()).toISOString(),
			ok: services.length > 0 && services.every(s => s.ok),
			services,
		},
	};
}
