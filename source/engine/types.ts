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
