/** Plain data the engine layer hands to the domain: no dockerode or zx types leak out. */

export type ContainerState =
	| 'running'
	| 'restarting'
	| 'exited'
	| 'created'
	| 'paused'
	| 'dead'
	| 'removing';

export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface EngineVersion {
	version: string;
	apiVersion: string;
	os: string;
	arch: string;
	kernel: string;
}

export interface ContainerInfo {
	id: string;
	name: string;
	project: string;
	service: string;
	/** Compose's replica number (com.docker.compose.container-number). */
	number: number;
	state: ContainerState;
	health: Health;
	restartCount: number;
	/** Null while the container has never exited. */
	exitCode: number | null;
	oomKilled: boolean;
	startedAt: string | null;
	finishedAt: string | null;
	createdAt: string;
	/** The image reference the container was created from (Config.Image). */
	image: string;
	imageId: string;
	labels: Record<string, string>;
}

export interface ImageInfo {
	id: string;
	repoTags: string[];
	repoDigests: string[];
	created: string;
	size: number;
}

export type ContainerAction =
	| 'create'
	| 'start'
	| 'die'
	| 'restart'
	| 'kill'
	| 'oom'
	| 'stop'
	| 'destroy'
	| 'pause'
	| 'unpause'
	| 'health_status';

export interface ContainerEvent {
	/** Milliseconds since the epoch. */
	time: number;
	action: ContainerAction;
	containerId: string;
	name: string;
	service: string;
	exitCode: number | null;
	health: 'healthy' | 'unhealthy' | 'starting' | null;
}

export interface LogLine {
	stream: 'stdout' | 'stderr';
	/** RFC 3339 from the engine, or null. */
	time: string | null;
	text: string;
	/** A line we wrote ourselves at a boundary: "container restarted", "switched to …". */
	marker?: boolean;
}

export type EventStreamState = 'live' | 'reconnecting';

export interface EventHandlers {
	onEvent(event: ContainerEvent): void;
	onState(state: EventStreamState, error?: unknown): void;
}

export interface Engine {
	/** Where the engine is, for messages: unix:///var/run/docker.sock, tcp://…, ssh://… */
	readonly address: string;
	version(): Promise<EngineVersion>;
	/** Every container of the Compose project, stopped ones included, one-off ones excluded. */
	projectContainers(project: string): Promise<ContainerInfo[]>;
	/** Null when the image is not on the box. */
	image(reference: string): Promise<ImageInfo | null>;
	/**
	 * The project's container events until `signal` aborts, reconnecting (and replaying the
	 * gap) when the stream drops; `onState` says when it is down, so callers can poll.
	 */
	watchEvents(project: string, handlers: EventHandlers, signal: AbortSignal): Promise<void>;
	/**
	 * The project's container events of the last `sinceMs` milliseconds (die, start, kill,
	 * stop, …), read once from the Engine's event buffer: how a crash loop caught between two
	 * crashes is told apart from a running service. Optional: in-memory engines may omit it.
	 */
	recentEvents?(project: string, sinceMs: number, signal?: AbortSignal): Promise<ContainerEvent[]>;
	/**
	 * A Compose service's log lines in batches, following it across restarts and recreation,
	 * until `signal` aborts. Starts with the last `tail` lines.
	 */
	followServiceLogs(
		project: string,
		service: string,
		options: {tail: number; timestamps: boolean},
		signal: AbortSignal,
	): AsyncIterable<LogLine[]>;
}

/** What `docker compose config --format json` says, reduced to what we read. */
export interface ComposeConfig {
	name: string;
	services: Record<string, ComposeService>;
	volumes: Record<string, unknown>;
	/** The raw `x-rollback-console` extension, validated by the domain. */
	extension: unknown;
}

export interface ComposeService {
	image: string | null;
	build: boolean;
	healthcheck: boolean;
	/** The healthcheck's `test` as compose normalised it (["CMD", …] or ["CMD-SHELL", "…"]); absent when none. */
	healthcheckTest?: string[] | null;
	/** `depends_on`: each service this one waits for, with the condition (service_started, service_healthy, service_completed_successfully). */
	dependsOn?: Record<string, string>;
	networkMode: string | null;
	environment: Record<string, string | null>;
	volumes: Array<{type: string; source: string | null; target: string}>;
}

/** Where a Compose project is and how compose is told about it. */
export interface ComposeProject {
	workingDir: string;
	files: string[];
	/** From -p, COMPOSE_PROJECT_NAME (environment or .env); else compose derives it. */
	name: string | null;
}

export interface Compose {
	version(signal?: AbortSignal): Promise<string>;
	config(project: ComposeProject, signal?: AbortSignal): Promise<ComposeConfig>;
}

/** A local image of one repository, as `docker images REPO` lists it. */
export interface RepositoryImage extends ImageInfo {
	/** The tags of this image within the repository asked for (without the repository). */
	tags: string[];
	/** The repo digest of this image within the repository, when it was pushed or pulled. */
	digest: string | null;
}

/** Images of one repository that are on this box (the rollback candidates it can use offline). */
export interface EngineImages {
	repositoryImages(repository: string): Promise<RepositoryImage[]>;
	/** The repositories whose local images carry this repo digest (`repo@sha256:…`). */
	repositoriesWithDigest(digest: string): Promise<string[]>;
}

/** What a compose command did: its exit code, its output, and how long it took. */
export interface ComposeRun {
	argv: string[];
	exitCode: number;
	stdout: string;
	stderr: string;
	ms: number;
}

export interface ComposeStreamOptions {
	/** Variables set for this command only (the release's tag variable). */
	env?: Record<string, string>;
	signal?: AbortSignal;
	/** Each chunk of output as it arrives (the worker writes it to its output files). */
	onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
}

/** The compose commands a rollback runs, beside the read-only `Compose` ones. */
export interface ComposeCommands {
	/** The full argv that runs `compose <project args> <args>`: what the plan shows and the worker runs. */
	argv(project: ComposeProject, args: string[]): string[];
	/** `config` with some variables set for this call only. */
	configWith(project: ComposeProject, env: Record<string, string>, signal?: AbortSignal): Promise<ComposeConfig>;
	/** `config --no-interpolate`: each service's `image:` as written, variables and all. */
	rawImages(project: ComposeProject, signal?: AbortSignal): Promise<Record<string, string | null>>;
	/** Runs `compose <project args> <args>`, streaming its output. */
	stream(project: ComposeProject, args: string[], options?: ComposeStreamOptions): Promise<ComposeRun>;
	/** The last `lines` log lines of a service (all its containers), without colour. */
	logTail(project: ComposeProject, service: string, lines: number, env?: Record<string, string>): Promise<string[]>;
}

/**
 * What evidence capture reads from the Engine, as the Engine sends it (raw JSON), so the
 * bundle holds the Engine's own words. DockerEngine implements it beside Engine; it is a
 * separate interface so in-memory Engines that never capture need not implement it.
 */
export interface EvidenceEngine {
	/** GET /containers/{id}/json; null when the container is gone. */
	inspectContainerRaw(id: string): Promise<Record<string, unknown> | null>;
	/** GET /images/{name}/json; null when the image is not on the box. */
	inspectImageRaw(reference: string): Promise<Record<string, unknown> | null>;
	/**
	 * A container's whole log, timestamped, not following (GET /containers/{id}/logs with
	 * tail=all and no `since`, so nothing is cut off); ends when it has all been read. `bytes`:
	 * each text is latin1 (one character per byte), so the log can be written back byte for byte.
	 */
	containerLog(id: string, signal: AbortSignal, options?: {bytes?: boolean}): AsyncIterable<LogLine[]>;
	/** The same from a moment on (`since`, ms since the epoch): Verify's error count reads only its window. */
	containerLogSince?(id: string, sinceMs: number, signal: AbortSignal): AsyncIterable<LogLine[]>;
	/** The project's events between two times (Unix seconds); `until` makes the stream end. */
	projectEvents(project: string, range: {since: number; until: number}, signal: AbortSignal): Promise<Array<Record<string, unknown>>>;
	/** GET /info */
	infoRaw(): Promise<Record<string, unknown>>;
	/** GET /version */
	versionRaw(): Promise<Record<string, unknown>>;
	/** GET /system/df */
	systemDf(): Promise<Record<string, unknown>>;
}

export const isEvidenceEngine = (engine: unknown): engine is EvidenceEngine =>
	typeof (engine as Partial<EvidenceEngine> | null)?.containerLog === 'function';

// ---- the Disk step (issue #5): what it reads from the Engine and the host, and what it removes

/** One image as GET /system/df lists it (top-level images, dangling ones included). */
export interface DfImage {
	id: string;
	repoTags: string[];
	repoDigests: string[];
	/** ISO time. */
	created: string;
	/** Bytes of all its layers. */
	size: number;
	/** Bytes of its layers that other images use too; -1 when the Engine did not compute it. */
	sharedSize: number;
	/** Containers created from it, stopped ones included; -1 when not computed. */
	containers: number;
	/** The image it was built on, for images built on this box; '' otherwise. */
	parentId: string;
}

export interface DfContainer {
	id: string;
	name: string;
	imageId: string;
	state: string;
	/** Bytes written to its writable layer. */
	sizeRw: number;
}

export interface DfVolume {
	name: string;
	driver: string;
	mountpoint: string;
	createdAt: string | null;
	labels: Record<string, string>;
	/** Bytes; -1 when the Engine does not know (not the local driver). */
	size: number;
	/** Containers (any state) that mount it; -1 when unknown. */
	refCount: number;
}

export interface DfBuildCache {
	id: string;
	type: string;
	size: number;
	inUse: boolean;
	shared: boolean;
	description: string;
}

/** GET /system/df: Docker's own breakdown of what it keeps on disk. */
export interface DiskUsage {
	/** Bytes of all image layers, each counted once. */
	layersSize: number;
	images: DfImage[];
	containers: DfContainer[];
	volumes: DfVolume[];
	buildCache: DfBuildCache[];
}

/** A container as the Disk step needs it: its log file and what it mounts. */
export interface DiskContainer {
	id: string;
	name: string;
	state: ContainerState;
	/** com.docker.compose.project, or null for a container compose did not create. */
	project: string | null;
	service: string | null;
	/** The reference it was created from (Config.Image) and the image ID. */
	image: string;
	imageId: string;
	createdAt: string;
	finishedAt: string | null;
	logDriver: string;
	/** The json-file log, when the driver keeps one. */
	logPath: string | null;
	mounts: Array<{type: string; name: string | null; destination: string}>;
}

/** An image's layers oldest first (RootFS diff IDs) and its history oldest first, with the size each step added. */
export interface ImageLayers {
	id: string;
	layers: string[];
	history: Array<{size: number; createdBy: string}>;
}

/** A volume `mount` event the Engine still remembers (it keeps only its last few hundred events). */
export interface VolumeMountEvent {
	/** Milliseconds since the epoch. */
	time: number;
	volume: string;
	containerId: string;
	/** From the container's own events, when they are still there too. */
	containerName: string | null;
}

/**
 * What the Disk step reads from and asks of the Engine. Only ever by ID or name, one item at
 * a time: no prune endpoint except the build cache's (POST /volumes/prune on API < 1.42
 * removes named volumes too).
 */
export interface DiskEngine {
	/** GET /info's DockerRootDir. */
	dockerRootDir(): Promise<string>;
	/** GET /system/df, retried while another disk-usage computation is running. */
	diskUsage(): Promise<DiskUsage>;
	/** Every container on the box, stopped ones included, inspected. */
	allContainers(): Promise<DiskContainer[]>;
	/** GET /images/{id}/json and /history; null when the image is gone. */
	imageLayers(id: string): Promise<ImageLayers | null>;
	/** The `mount` events of volumes still in the Engine's event buffer. */
	volumeMounts(): Promise<VolumeMountEvent[]>;
	/** DELETE /containers/{id} (not forced, its volumes kept). */
	removeContainer(id: string): Promise<void>;
	/** DELETE /images/{id} (not forced): the IDs the Engine says it deleted. */
	removeImage(id: string): Promise<string[]>;
	/** DELETE /volumes/{name} (not forced). */
	removeVolume(name: string): Promise<void>;
	/** POST /build/prune (unused cache only); the bytes the Engine says it reclaimed. */
	pruneBuildCache(): Promise<number>;
}

export const isDiskEngine = (engine: unknown): engine is DiskEngine =>
	typeof (engine as Partial<DiskEngine> | null)?.diskUsage === 'function';

/** A filesystem's space, as statfs(2) reports it for a path. */
export interface FsUsage {
	path: string;
	/** st_dev of the path: paths on the same filesystem share it. */
	device: number;
	size: number;
	used: number;
	/** Bytes an unprivileged process can still write (f_bavail), as df's "Avail". */
	free: number;
	/** used / (used + free), as df computes Use%. */
	usedPercent: number;
}

/** The host's files the Disk step reads and, for a runaway log only, truncates. */
export interface DiskHost {
	fsUsage(path: string): Promise<FsUsage>;
	/** Size and bytes allocated on disk; null when the file is missing or unreadable. */
	fileSize(path: string): Promise<{size: number; allocated: number} | null>;
	/** The last `maxLines` lines within the last `maxBytes` bytes, read without a temp file. */
	readTail(path: string, options: {maxBytes: number; maxLines: number}): Promise<{data: Buffer; lines: number; fileSize: number}>;
	/** Opens with O_WRONLY|O_TRUNC (never creating it), as `truncate -s 0` does. */
	truncate(path: string): Promise<void>;
	/** Up to `limit` names at the top of a directory (a volume's content), or null when unreadable. */
	peek(path: string, limit: number): Promise<{names: string[]; total: number} | null>;
}
