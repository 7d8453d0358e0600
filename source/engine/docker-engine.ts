import type Docker from 'dockerode';
import {skipUnusedModules} from './skip-unused-modules.js';
import {assertSupportedApi, engineAddress, explainEngineError} from './known-errors.js';
import {followServiceLogs, watchContainerEvents} from './docker-streams.js';
import type {ContainerInfo, ContainerState, Engine, EngineVersion, EventHandlers, Health, ImageInfo, LogLine} from './types.js';

const states = new Set<ContainerState>(['running', 'restarting', 'exited', 'created', 'paused', 'dead', 'removing']);

function toHealth(value: string | undefined): Health {
	return value === 'healthy' || value === 'unhealthy' || value === 'starting' ? value : 'none';
}

// The Engine reports "0001-01-01T00:00:00Z" for times that never happened.
function toTime(value: string | undefined): string | null {
	return !value || value.startsWith('0001-') ? null : value;
}

export function toContainerInfo(inspect: Docker.ContainerInspectInfo): ContainerInfo {
	const labels = inspect.Config?.Labels ?? {};
	const state = inspect.State;
	const status = (state?.Status ?? 'created') as ContainerState;
	const finishedAt = toTime(state?.FinishedAt);
	return {
		id: inspect.Id,
		name: inspect.Name.replace(/^\//, ''),
		project: labels['com.docker.compose.project'] ?? '',
		service: labels['com.docker.compose.service'] ?? '',
		number: Number(labels['com.docker.compose.container-number'] ?? 1),
		state: states.has(status) ? status : 'created',
		health: toHealth(state?.Health?.Status),
		restartCount: inspect.RestartCount ?? 0,
		// ExitCode is 0 for a container that never exited: only trust it once it finished.
		exitCode: finishedAt === null ? null : (state?.ExitCode ?? null),
		oomKilled: Boolean(state?.OOMKilled),
		startedAt: toTime(state?.StartedAt),
		finishedAt,
		createdAt: inspect.Created,
		image: inspect.Config?.Image ?? '',
		imageId: inspect.Image,
		labels,
	};
}

/**
 * The Engine API through dockerode. Request/response calls take no AbortSignal: they are
 * short, and docker-modem would send the signal along as a query parameter.
 */
export class DockerEngine implements Engine {
	readonly address: string;
	readonly #docker: Docker;

	private constructor(docker: Docker, address: string) {
		this.#docker = docker;
		this.address = address;
	}

	static async connect(env: NodeJS.ProcessEnv = process.env): Promise<DockerEngine> {
		skipUnusedModules(env);
		const {default: Dockerode} = await import('dockerode');
		// docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
		return new DockerEngine(new Dockerode(), engineAddress(env));
	}

	async #call<T>(work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			throw explainEngineError(error, this.address);
		}
	}

	async version(): Promise<EngineVersion> {
		const v = await this.#call(() => this.#docker.version());
		assertSupportedApi(v.ApiVersion, this.address);
		return {version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch, kernel: v.KernelVersion};
	}

	async projectContainers(project: string): Promise<ContainerInfo[]> {
		const list = await this.#call(() =>
			this.#docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}}),
		);
		const services = list.filter(c => c.Labels['com.docker.compose.oneoff'] !== 'True');
		const inspected = await Promise.all(
			services.map(async c => {
				try {
					return await this.#docker.getContainer(c.Id).inspect();
				} catch (error) {
					// Removed between the list and the inspect: it is simply gone.
					if ((error as {statusCode?: number}).statusCode === 404) return null;
					throw explainEngineError(error, this.address);
				}
			}),
		);
		return inspected.filter(i => i !== null).map(toContainerInfo);
	}

	async image(reference: string): Promise<ImageInfo | null> {
		try {
			const i = await this.#docker.getImage(reference).inspect();
			return {id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [], created: i.Created, size: i.Size};
		} catch (error) {
			if ((error as {statusCode?: number}).statusCode === 404) return null;
			throw explainEngineError(error, this.address);
		}
	}

	watchEvents(project: string, handlers: EventHandlers, signal: AbortSignal): Promise<void> {
		return watchContainerEvents(this.#docker, {project}, signal, handlers);
	}

	followServiceLogs(project: string, service: string, options: {tail: number; timestamps: boolean}, signal: AbortSignal): AsyncIterable<LogLine[]> {
		return followServiceLogs(this.#docker, {project, service}, options, signal);
	}
}
