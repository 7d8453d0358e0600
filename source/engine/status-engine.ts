// `status` asks the Engine four plain questions. Loading dockerode for them costs more than
// compose's whole `ps` (~130 ms of module loading on a small box), so on a local socket or a
// plain tcp:// address they go straight over HTTP with node's own client. TLS and ssh://
// engines keep dockerode (DockerEngine), which knows their set-up.
import {orNotFound, serviceContainers, toImageInfo} from './engine-records.js';
import {plainTarget, query, request, type Target} from './engine-http.js';
import {assertSupportedApi, engineAddress, explainEngineError} from './known-errors.js';
import {eventsFromText, recentEventsQuery} from './recent-events.js';
import type {DockerEngine} from './docker-engine.js';
import type {ContainerEvent, ContainerInfo, Engine, EngineVersion, ImageInfo} from './types.js';

export type StatusEngine = Pick<Engine, 'address' | 'version' | 'projectContainers' | 'image' | 'recentEvents'>;

export class HttpStatusEngine implements StatusEngine {
	constructor(
		readonly address: string,
		readonly target: Target,
	) {}

	/** A GET's body as text: an abort throws the signal's reason, anything else is explained in one line. */
	async text(path: string, signal?: AbortSignal): Promise<string> {
		try {
			return await request(this.target, path, signal);
		} catch (error) {
			if (signal?.aborted) throw signal.reason ?? error;
			throw explainEngineError(error, this.address);
		}
	}

	async json<T>(path: string, signal?: AbortSignal): Promise<T> {
		return JSON.parse(await this.text(path, signal)) as T;
	}

	async version(): Promise<EngineVersion> {
		const v = await this.json<{Version: string; ApiVersion: string; Os: string; Arch: string; KernelVersion: string}>('/version');
		assertSupportedApi(v.ApiVersion, this.address);
		return {version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch, kernel: v.KernelVersion};
	}

	async projectContainers(project: string): Promise<ContainerInfo[]> {
		const list = await this.json<Array<{Id: string; Labels: Record<string, string>}>>(
			`/containers/json?${query({all: 'true', filters: {label: [`com.docker.compose.project=${project}`]}})}`,
		);
		return serviceContainers(list, id => this.json(`/containers/${id}/json`));
	}

	async image(reference: string): Promise<ImageInfo | null> {
		const raw = await orNotFound(() => this.json<Parameters<typeof toImageInfo>[0]>(`/images/${encodeURIComponent(reference)}/json`));
		return raw ? toImageInfo(raw) : null;
	}

	async recentEvents(project: string, sinceMs: number, signal?: AbortSignal): Promise<ContainerEvent[]> {
		return eventsFromText(await this.text(`/events?${query(recentEventsQuery(project, sinceMs))}`, signal));
	}
}

/** `make`'s engine where plain HTTP reaches the Engine, else dockerode (TLS, ssh://), which knows their set-up. */
export async function plainOrDockerode<T>(make: (address: string, target: Target) => T, env: NodeJS.ProcessEnv): Promise<T | DockerEngine> {
	const target = plainTarget(env);
	if (target) return make(engineAddress(env), target);
	const {DockerEngine} = await import('./docker-engine.js');
	return DockerEngine.connect(env);
}

/** The Engine for `status`. */
export const connectStatusEngine = (env: NodeJS.ProcessEnv = process.env): Promise<StatusEngine> =>
	plainOrDockerode((address, target) => new HttpStatusEngine(address, target), env);
