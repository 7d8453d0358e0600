import type Docker from 'dockerode';
import {engineCall, openDockerode} from './dockerode-client.js';
import {assertSupportedApi, explainEngineError} from './known-errors.js';
import {eventsFromText, recentEventsQuery} from './recent-events.js';
import {containerLogBatches, followServiceLogs, watchContainerEvents} from './docker-streams.js';
import {orNotFound, rawEventsFromText, repositoryImage, serviceContainers, toContainerInfo, toImageInfo} from './engine-records.js';

export {toContainerInfo, toImageInfo} from './engine-records.js';
import type {
	ContainerEvent,
	ContainerInfo,
	ContainerState,
	Engine,
	EngineImages,
	EngineVersion,
	EventHandlers,
	EvidenceEngine,
	Health,
	ImageInfo,
	LogLine,
	RepositoryImage,
} from './types.js';
import type {DfBuildCache, DfContainer, DfImage, DfVolume, DiskContainer, DiskEngine, DiskUsage, ImageLayers, VolumeMountEvent} from './types.js';

/**
 * The Engine API through dockerode. Request/response calls take no AbortSignal: they are
 * short, and docker-modem would send the signal along as a query parameter.
 */
export class DockerEngine implements Engine, EngineImages, EvidenceEngine, DiskEngine {
	readonly address: string;
	readonly #docker: Docker;

	private constructor(docker: Docker, address: string) {
		this.#docker = docker;
		this.address = address;
	}

	static async connect(env: NodeJS.ProcessEnv = process.env): Promise<DockerEngine> {
		const {docker, address} = await openDockerode(env);
		return new DockerEngine(docker, address);
	}

	#call<T>(work: () => Promise<T>): Promise<T> {
		return engineCall(this.address, work);
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
		return serviceContainers(list, id => this.#call(() => this.#docker.getContainer(id).inspect()));
	}

	async image(reference: string): Promise<ImageInfo | null> {
		const raw = await this.#orNull(() => this.#docker.getImage(reference).inspect());
		return raw ? toImageInfo(raw) : null;
	}

	async repositoryImages(repository: string): Promise<RepositoryImage[]> {
		// The reference filter with a bare name matches every tag of that repository.
		const list = await this.#call(() => this.#docker.listImages({filters: {reference: [repository]}}));
		return list.map(i => repositoryImage(i, repository));
	}

	async repositoriesWithDigest(digest: string): Promise<string[]> {
		const list = await this.#call(() => this.#docker.listImages({digests: true}));
		const names = list.flatMap(i => (i.RepoDigests ?? []).filter(d => d.endsWith(`@${digest}`)).map(d => d.slice(0, d.indexOf('@'))));
		return [...new Set(names)].sort();
	}

	watchEvents(project: string, handlers: EventHandlers, signal: AbortSignal): Promise<void> {
		return watchContainerEvents(this.#docker, {project}, signal, handlers);
	}

	async recentEvents(project: string, sinceMs: number, signal?: AbortSignal): Promise<ContainerEvent[]> {
		const stream = await this.#call(
			() =>
				this.#docker.getEvents({
					...recentEventsQuery(project, sinceMs),
					...(signal ? {abortSignal: signal} : {}),
				} as unknown as Parameters<Docker['getEvents']>[0]) as Promise<NodeJS.ReadableStream>,
		);
		let text = '';
		try {
			for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
		} catch (error) {
			if (signal?.aborted) throw signal.reason ?? error;
			throw explainEngineError(error, this.address);
		}
		return eventsFromText(text);
	}

	followServiceLogs(project: string, service: string, options: {tail: number; timestamps: boolean}, signal: AbortSignal): AsyncIterable<LogLine[]> {
		return followServiceLogs(this.#docker, {project, service}, options, signal);
	}

	// ---- evidence: the Engine's answers as it sends them

	#orNull<T>(work: () => Promise<T>): Promise<T | null> {
		return orNotFound(() => this.#call(work));
	}

	inspectContainerRaw(id: string): Promise<Record<string, unknown> | null> {
		return this.#orNull(async () => (await this.#docker.getContainer(id).inspect()) as unknown as Record<string, unknown>);
	}

	inspectImageRaw(reference: string): Promise<Record<string, unknown> | null> {
		return this.#orNull(async () => (await this.#docker.getImage(reference).inspect()) as unknown as Record<string, unknown>);
	}

	containerLog(id: string, signal: AbortSignal, options: {bytes?: boolean} = {}): AsyncIterable<LogLine[]> {
		return containerLogBatches(this.#docker, id, {tail: 'all', follow: false, timestamps: true, ...(options.bytes ? {encoding: 'latin1' as const} : {})}, signal);
	}

	containerLogSince(id: string, sinceMs: number, signal: AbortSignal): AsyncIterable<LogLine[]> {
		return containerLogBatches(this.#docker, id, {tail: 'all', follow: false, timestamps: true, since: sinceMs / 1000}, signal);
	}

	async projectEvents(project: string, range: {since: number; until: number}, signal: AbortSignal): Promise<Array<Record<string, unknown>>> {
		const stream = await this.#call(
			() =>
				this.#docker.getEvents({
					since: range.since,
					until: range.until,
					filters: {label: [`com.docker.compose.project=${project}`]},
					abortSignal: signal,
				} as Parameters<Docker['getEvents']>[0]) as Promise<NodeJS.ReadableStream>,
		);
		let text = '';
		try {
			for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
		} catch (error) {
			if (signal.aborted) throw signal.reason ?? error;
			throw explainEngineError(error, this.address);
		}
		return rawEventsFromText(text);
	}

	async infoRaw(): Promise<Record<string, unknown>> {
		return (await this.#call(() => this.#docker.info())) as Record<string, unknown>;
	}

	async versionRaw(): Promise<Record<string, unknown>> {
		return (await this.#call(() => this.#docker.version())) as unknown as Record<string, unknown>;
	}

	async systemDf(): Promise<Record<string, unknown>> {
		return (await this.#call(() => this.#docker.df())) as Record<string, unknown>;
	}

	// ---- the Disk step: read by ID, remove one item at a time, never a prune endpoint but the build cache's

	async dockerRootDir(): Promise<string> {
		const info = (await this.#call(() => this.#docker.info())) as {DockerRootDir?: string};
		return info.DockerRootDir ?? '/var/lib/docker';
	}

	async diskUsage(): Promise<DiskUsage> {
		// Docker 20.10 computes one disk usage at a time and refuses a second meanwhile.
		let raw: Record<string, any> | undefined;
		for (let attempt = 0; ; attempt++) {
			try {
				raw = (await this.#docker.df()) as Record<string, any>;
				break;
			} catch (error) {
				if (attempt < 40 && /disk usage operation is already running/i.test(engineMessage(error))) {
					await new Promise(resolve => setTimeout(resolve, 250));
					continue;
				}
				throw explainEngineError(error, this.address);
			}
		}
		const images: DfImage[] = (raw['Images'] ?? []).map((i: Record<string, any>) => ({
			id: String(i['Id']),
			repoTags: (i['RepoTags'] ?? []).filter((t: string) => t !== '<none>:<none>'),
			repoDigests: (i['RepoDigests'] ?? []).filter((d: string) => d !== '<none>@<none>'),
			created: new Date(Number(i['Created'] ?? 0) * 1000).toISOString(),
			size: Number(i['Size'] ?? 0),
			sharedSize: Number(i['SharedSize'] ?? -1),
			containers: Number(i['Containers'] ?? -1),
			parentId: String(i['ParentId'] ?? ''),
		}));
		const containers: DfContainer[] = (raw['Containers'] ?? []).map((c: Record<string, any>) => ({
			id: String(c['Id']),
			name: String(c['Names']?.[0] ?? '').replace(/^\//, ''),
			imageId: String(c['ImageID'] ?? ''),
			state: String(c['State'] ?? ''),
			sizeRw: Number(c['SizeRw'] ?? 0),
		}));
		const volumes: DfVolume[] = (raw['Volumes'] ?? []).map((v: Record<string, any>) => ({
			name: String(v['Name']),
			driver: String(v['Driver'] ?? ''),
			mountpoint: String(v['Mountpoint'] ?? ''),
			createdAt: v['CreatedAt'] ? String(v['CreatedAt']) : null,
			labels: v['Labels'] ?? {},
			size: Number(v['UsageData']?.['Size'] ?? -1),
			refCount: Number(v['UsageData']?.['RefCount'] ?? -1),
		}));
		const buildCache: DfBuildCache[] = (raw['BuildCache'] ?? []).map((b: Record<string, any>) => ({
			id: String(b['ID'] ?? ''),
			type: String(b['Type'] ?? ''),
			size: Number(b['Size'] ?? 0),
			inUse: Boolean(b['InUse']),
			shared: Boolean(b['Shared']),
			description: String(b['Description'] ?? ''),
		}));
		return {layersSize: Number(raw['LayersSize'] ?? 0), images, containers, volumes, buildCache};
	}

	async allContainers(): Promise<DiskContainer[]> {
		const list = await this.#call(() => this.#docker.listContainers({all: true}));
		const result: DiskContainer[] = [];
		// A few at a time: a box may have hundreds of containers.
		for (let i = 0; i < list.length; i += 16) {
			const batch = await Promise.all(
				list.slice(i, i + 16).map(c => this.#orNull(() => this.#docker.getContainer(c.Id).inspect())),
			);
			for (const inspect of batch) {
				if (!inspect) continue;
				const info = toContainerInfo(inspect);
				const logDriver = inspect.HostConfig?.LogConfig?.Type ?? '';
				result.push({
					id: info.id,
					name: info.name,
					state: info.state,
					project: info.project || null,
					service: info.service || null,
					image: info.image,
					imageId: info.imageId,
					createdAt: info.createdAt,
					finishedAt: info.finishedAt,
					logDriver,
					logPath: logDriver === 'json-file' && inspect.LogPath ? inspect.LogPath : null,
					mounts: (inspect.Mounts ?? []).map(m => ({type: String(m.Type ?? ''), name: m.Name ?? null, destination: m.Destination})),
				});
			}
		}
		return result;
	}

	async imageLayers(id: string): Promise<ImageLayers | null> {
		const image = this.#docker.getImage(id);
		const [inspect, history] = await Promise.all([
			this.#orNull(() => image.inspect()),
			this.#orNull(() => image.history() as Promise<Array<{Size?: number; CreatedBy?: string}>>),
		]);
		if (!inspect || !history) return null;
		return {
			id: inspect.Id,
			layers: inspect.RootFS?.Layers ?? [],
			// The Engine lists history newest first.
			history: [...history].reverse().map(h => ({size: Number(h.Size ?? 0), createdBy: String(h.CreatedBy ?? '')})),
		};
	}

	async volumeMounts(): Promise<VolumeMountEvent[]> {
		// since=0 replays the Engine's whole event buffer; `until` makes the stream end.
		const stream = (await this.#call(() =>
			this.#docker.getEvents({since: 0, until: Math.floor(Date.now() / 1000), filters: {type: ['volume', 'container'], event: ['mount', 'destroy', 'create']}} as Parameters<Docker['getEvents']>[0]),
		)) as unknown as AsyncIterable<Buffer>;
		let text = '';
		for await (const chunk of stream) text += chunk.toString('utf8');
		const names = new Map<string, string>();
		const mounts: VolumeMountEvent[] = [];
		for (const line of text.split('\n')) {
			if (line.trim() === '') continue;
			let event: {Type?: string; Action?: string; Actor?: {ID?: string; Attributes?: Record<string, string>}; timeNano?: number; time?: number};
			try {
				event = JSON.parse(line);
			} catch {
				continue;
			}
			const attributes = event.Actor?.Attributes ?? {};
			const time = event.timeNano ? Math.floor(event.timeNano / 1e6) : (event.time ?? 0) * 1000;
			if (event.Type === 'container' && event.Actor?.ID && attributes['name']) names.set(event.Actor.ID, attributes['name']);
			if (event.Type === 'volume' && event.Action === 'mount' && event.Actor?.ID && attributes['container']) {
				mounts.push({time, volume: event.Actor.ID, containerId: attributes['container'], containerName: null});
			}
		}
		return mounts.map(m => ({...m, containerName: names.get(m.containerId) ?? null}));
	}

	/** Removals fail with the Engine's own sentence ("conflict: unable to remove …"). */
	async #remove<T>(work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			const explained = explainEngineError(error, this.address);
			if (explained !== error) throw explained;
			throw new Error(engineMessage(error), {cause: error});
		}
	}

	async removeContainer(id: string): Promise<void> {
		await this.#remove(() => this.#docker.getContainer(id).remove({v: false, force: false}));
	}

	async removeImage(id: string): Promise<string[]> {
		const result = (await this.#remove(() => this.#docker.getImage(id).remove({force: false, noprune: false}))) as Array<{Deleted?: string}> | undefined;
		return (result ?? []).map(r => r.Deleted).filter((d): d is string => Boolean(d));
	}

	async removeVolume(name: string): Promise<void> {
		await this.#remove(() => this.#docker.getVolume(name).remove({force: false}));
	}

	async pruneBuildCache(): Promise<number> {
		const result = (await this.#remove(() => this.#docker.pruneBuilder())) as {SpaceReclaimed?: number} | undefined;
		return Number(result?.SpaceReclaimed ?? 0);
	}
}

/** The Engine's own words for a failed request ("conflict: unable to remove …"). */
export function engineMessage(error: unknown): string {
	const json = (error as {json?: {message?: unknown}} | null)?.json;
	if (json && typeof json.message === 'string') return json.message;
	return error instanceof Error ? error.message : String(error);
}
