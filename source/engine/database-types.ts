/** What the Database step reads from and asks of the Engine: plain data, no dockerode types. */

/** A container as the database detection needs it. */
export interface DatabaseContainer {
	id: string;
	name: string;
	service: string;
	running: boolean;
	image: string;
	imageId: string;
	/** Config.Env as KEY → value. */
	env: Record<string, string>;
	/** Config.Healthcheck.Test, e.g. ["CMD-SHELL", "pg_isready -U app"]; empty when none. */
	healthcheck: string[];
	mounts: Array<{type: string; name: string | null; source: string; destination: string}>;
	/** When the container was created (ISO): the time its release replaced the one before. */
	createdAt: string;
	startedAt: string | null;
}

export interface ExecResult {
	exitCode: number;
	stdout: string;
	stderr: string;
}

export interface ExecOptions {
	env?: Record<string, string>;
	user?: string;
	workingDir?: string;
	/** Fed to the command's stdin, then closed (the restore reads a dump this way). */
	stdin?: AsyncIterable<Buffer | string> | NodeJS.ReadableStream;
	signal?: AbortSignal;
	/** Bytes of stdin sent so far (progress for a restore). */
	onStdinBytes?: (bytes: number) => void;
}

/** What a dump streamed out of a container came to. */
export interface DumpResult {
	exitCode: number;
	bytes: number;
	sha256: string;
	stderr: string;
}

/** One file read out of an image or a container through the archive API. */
export interface ArchivedFile {
	/** Relative to the directory asked for. */
	path: string;
	size: number;
	/** UTF-8 text, cut at the reader's limit. */
	text: string;
}

export interface ImageFacts {
	id: string;
	workingDir: string;
	labels: Record<string, string>;
	env: Record<string, string>;
	repoDigests: string[];
}

/** A path in a container as the archive API's HEAD sees it. */
export interface PathStat {
	size: number;
	/** Go's os.FileMode bits (permission bits in the low 9). */
	mode: number;
}

export interface DatabaseEngine {
	/** Every container of the Compose project (stopped ones too), inspected. */
	databaseContainers(project: string): Promise<DatabaseContainer[]>;
	/** Runs a command inside a running container (Engine exec API, demuxed), output buffered up to a limit. */
	exec(containerId: string, argv: string[], options?: ExecOptions): Promise<ExecResult>;
	/**
	 * Runs a dump command inside the container and streams its stdout into `sink` as it comes
	 * (backpressure kept), hashing on the way: nothing is written inside the container.
	 */
	execToSink(
		containerId: string,
		argv: string[],
		sink: NodeJS.WritableStream,
		options?: Omit<ExecOptions, 'stdin'> & {onBytes?: (bytes: number) => void},
	): Promise<DumpResult>;
	/** Null when the image is not on this box. */
	imageFacts(reference: string): Promise<ImageFacts | null>;
	/** Pulls an image from its registry (only 127.0.0.0/8 ones in tests); false when the registry does not have it. */
	pullImage(reference: string, signal?: AbortSignal): Promise<boolean>;
	/**
	 * The files under `dir` in an image, read by creating a container from it without starting
	 * it and reading the archive API's tar stream; null when the directory is not there.
	 */
	readImageDirectory(reference: string, dir: string, options?: {maxFileBytes?: number; maxFiles?: number}): Promise<ArchivedFile[] | null>;
	/** Copies one file out of a container through the archive API into `sink` (SQLite without sqlite3). */
	copyFileOut(containerId: string, path: string, sink: NodeJS.WritableStream): Promise<DumpResult>;
	/** Stops containers by ID (POST /containers/{id}/stop), in order. */
	stopContainers(ids: string[], timeoutSeconds?: number): Promise<void>;
	/** Starts containers by ID. */
	startContainers(ids: string[]): Promise<void>;
	/** The file's size and mode through the archive API (HEAD); null when it is not there. A stopped container answers too. */
	statPath(containerId: string, path: string): Promise<PathStat | null>;
	/**
	 * Runs `work` with the container paused (its processes frozen, so a file copied meanwhile is
	 * one moment), and unpauses it after — also on error, and on SIGINT/SIGTERM/SIGHUP meanwhile.
	 * A container already paused, or not running, is left as it is.
	 */
	whilePaused<T>(containerId: string, work: () => Promise<T>): Promise<T>;
	/** Writes one new file into a container's filesystem, its mounts included, through the archive API (the container may be stopped). */
	putFile(containerId: string, path: string, source: NodeJS.ReadableStream, size: number, mode?: number): Promise<void>;
	/**
	 * Starts a one-off helper container from `image` with the mounts of container `mountsOf`
	 * (VolumesFrom), no network, as root, idle until removed; its ID.
	 */
	startHelper(image: string, mountsOf: string): Promise<string>;
	/** Removes a container, gone or not; never its volumes (a helper shares the app's). */
	removeContainer(containerId: string): Promise<void>;
}
