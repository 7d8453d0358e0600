import {createHash} from 'node:crypto';
import {once} from 'node:events';
import {Readable, type Duplex} from 'node:stream';
import type Docker from 'dockerode';
import {engineCall, openDockerode} from './dockerode-client.js';
import {ConsoleError} from '../errors.js';
import {explainEngineError} from './known-errors.js';
import type {ArchivedFile, DatabaseContainer, DatabaseEngine, DumpResult, ExecOptions, ExecResult, ImageFacts, PathStat} from './database-types.js';

// Buffered exec output (psql's answers) is small; a runaway one is cut, not kept whole.
const maxBuffered = 8 << 20;

const envMap = (list: string[] | undefined): Record<string, string> =>
	Object.fromEntries((list ?? []).map(entry => {
		const eq = entry.indexOf('=');
		return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
	}));

const toTime = (value: string | undefined): string | null => (!value || value.startsWith('0001-') ? null : value);

/**
 * The Engine's multiplexed exec stream (no TTY): frames of an 8-byte header — stream type
 * (1 stdout, 2 stderr), three zero bytes, a big-endian length — and that many bytes. Yields
 * each frame's payload as it comes; the consumer's awaits pause the socket (backpressure).
 */
export async function* demux(stream: AsyncIterable<Buffer>): AsyncGenerator<{stream: 'stdout' | 'stderr'; data: Buffer}> {
	let pending: Buffer = Buffer.alloc(0);
	for await (const chunk of stream) {
		pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
		while (pending.length >= 8) {
			const size = pending.readUInt32BE(4);
			if (pending.length < 8 + size) break;
			const type = pending[0];
			const data = pending.subarray(8, 8 + size);
			pending = pending.subarray(8 + size);
			if (type === 1 || type === 2) yield {stream: type === 1 ? 'stdout' : 'stderr', data};
		}
	}
}

async function writeTo(sink: NodeJS.WritableStream, data: Buffer): Promise<void> {
	if (!sink.write(data)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
}

/** Collects text up to a limit (the rest is dropped, and said). */
class Capped {
	#parts: Buffer[] = [];
	#size = 0;
	#cut = false;
	add(data: Buffer) {
		if (this.#size >= maxBuffered) {
			this.#cut = true;
			return;
		}
		this.#parts.push(data);
		this.#size += data.length;
	}
	text() {
		return Buffer.concat(this.#parts).toString('utf8') + (this.#cut ? '\n[… output cut]' : '');
	}
}

/** The Database step's Engine calls, through dockerode: exec, the archive API, images. */
export class DockerDatabaseEngine implements DatabaseEngine {
	readonly address: string;
	readonly #docker: Docker;

	private constructor(docker: Docker, address: string) {
		this.#docker = docker;
		this.address = address;
	}

	static async connect(env: NodeJS.ProcessEnv = process.env): Promise<DockerDatabaseEngine> {
		const {docker, address} = await openDockerode(env);
		return new DockerDatabaseEngine(docker, address);
	}

	#call<T>(work: () => Promise<T>): Promise<T> {
		return engineCall(this.address, work);
	}

	async databaseContainers(project: string): Promise<DatabaseContainer[]> {
		const list = await this.#call(() => this.#docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}}));
		const inspected = await Promise.all(
			list
				.filter(c => c.Labels['com.docker.compose.oneoff'] !== 'True')
				.map(c => this.#docker.getContainer(c.Id).inspect().catch(() => null)),
		);
		return inspected
			.filter((i): i is Docker.ContainerInspectInfo => i !== null)
			.map(i => ({
				id: i.Id,
				name: i.Name.replace(/^\//, ''),
				service: i.Config.Labels?.['com.docker.compose.service'] ?? '',
				running: i.State.Running === true && i.State.Restarting !== true,
				image: i.Config.Image,
				imageId: i.Image,
				env: envMap(i.Config.Env),
				healthcheck: (i.Config as {Healthcheck?: {Test?: string[]}}).Healthcheck?.Test ?? [],
				mounts: (i.Mounts ?? []).map(m => ({type: m.Type, name: m.Name ?? null, source: m.Source, destination: m.Destination})),
				createdAt: i.Created,
				startedAt: toTime(i.State.StartedAt),
			}));
	}

	async #start(containerId: string, argv: string[], options: ExecOptions & {stdin?: ExecOptions['stdin']}): Promise<{exec: Docker.Exec; stream: Duplex}> {
		const withStdin = options.stdin !== undefined;
		const exec = await this.#call(() =>
			this.#docker.getContainer(containerId).exec({
				Cmd: argv,
				AttachStdout: true,
				AttachStderr: true,
				AttachStdin: withStdin,
				Tty: false,
				...(options.env ? {Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`)} : {}),
				...(options.user ? {User: options.user} : {}),
				...(options.workingDir ? {WorkingDir: options.workingDir} : {}),
			}),
		);
		const stream = (await this.#call(() => exec.start({hijack: withStdin, stdin: withStdin, Detach: false, Tty: false}))) as unknown as Duplex;
		return {exec, stream};
	}

	async #exitCode(exec: Docker.Exec): Promise<number> {
		// The stream ends a moment before the Engine records the exit code.
		for (let i = 0; i < 50; i++) {
			const info = await this.#call(() => exec.inspect());
			if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
			await new Promise(r => setTimeout(r, 20));
		}
		return -1;
	}

	async exec(containerId: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
		const {exec, stream} = await this.#start(containerId, argv, options);
		const abort = () => stream.destroy(new Error('aborted'));
		options.signal?.addEventListener('abort', abort, {once: true});
		const feeding = options.stdin ? this.#feed(stream, options.stdin, options.onStdinBytes) : Promise.resolve();
		feeding.catch(() => {});
		const out = new Capped();
		const err = new Capped();
		try {
			for await (const frame of demux(stream as AsyncIterable<Buffer>)) (frame.stream === 'stdout' ? out : err).add(frame.data);
			await feeding;
		} finally {
			options.signal?.removeEventListener('abort', abort);
		}
		if (options.signal?.aborted) throw new ConsoleError(`${argv[0]} in the database container was cancelled`, 3);
		return {exitCode: await this.#exitCode(exec), stdout: out.text(), stderr: err.text()};
	}

	/** Sends stdin with backpressure, then half-closes so the command sees end of input. */
	async #feed(stream: Duplex, input: NonNullable<ExecOptions['stdin']>, onBytes?: (bytes: number) => void): Promise<void> {
		let sent = 0;
		for await (const chunk of input as AsyncIterable<Buffer | string>) {
			const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
			sent += data.length;
			await writeTo(stream, data);
			onBytes?.(sent);
		}
		stream.end();
	}

	async execToSink(
		containerId: string,
		argv: string[],
		sink: NodeJS.WritableStream,
		options: Omit<ExecOptions, 'stdin'> & {onBytes?: (bytes: number) => void} = {},
	): Promise<DumpResult> {
		const {exec, stream} = await this.#start(containerId, argv, options);
		const abort = () => stream.destroy(new Error('aborted'));
		options.signal?.addEventListener('abort', abort, {once: true});
		const hash = createHash('sha256');
		const err = new Capped();
		let bytes = 0;
		try {
			for await (const frame of demux(stream as AsyncIterable<Buffer>)) {
				if (frame.stream === 'stderr') {
					err.add(frame.data);
					continue;
				}
				hash.update(frame.data);
				bytes += frame.data.length;
				await writeTo(sink, frame.data);
				options.onBytes?.(bytes);
			}
		} catch (error) {
			if (options.signal?.aborted) return {exitCode: -1, bytes, sha256: '', stderr: 'cancelled'};
			throw error;
		} finally {
			options.signal?.removeEventListener('abort', abort);
		}
		return {exitCode: await this.#exitCode(exec), bytes, sha256: hash.digest('hex'), stderr: err.text()};
	}

	async imageFacts(reference: string): Promise<ImageFacts | null> {
		try {
			const i = await this.#docker.getImage(reference).inspect();
			return {
				id: i.Id,
				workingDir: i.Config?.WorkingDir || '/',
				labels: i.Config?.Labels ?? {},
				env: envMap(i.Config?.Env),
				repoDigests: i.RepoDigests ?? [],
			};
		} catch (error) {
			if ((error as {statusCode?: number}).statusCode === 404) return null;
			throw explainEngineError(error, this.address);
		}
	}

	async pullImage(reference: string): Promise<boolean> {
		try {
			const stream = await this.#docker.pull(reference);
			await new Promise<void>((resolve, reject) =>
				this.#docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
			);
			return true;
		} catch (error) {
			const code = (error as {statusCode?: number}).statusCode;
			if (code === 404 || code === 500 || /not found|manifest unknown|connection refused/i.test(String((error as Error).message))) return false;
			throw explainEngineError(error, this.address);
		}
	}

	async readImageDirectory(
		reference: string,
		dir: string,
		{maxFileBytes = 256 << 10, maxFiles = 2000}: {maxFileBytes?: number; maxFiles?: number} = {},
	): Promise<ArchivedFile[] | null> {
		// Created, never started: the image's files are readable without running anything.
		const container = await this.#call(() =>
			this.#docker.createContainer({Image: reference, Cmd: ['true'], Entrypoint: [], NetworkDisabled: true, Labels: {'io.rollback-console.reader': '1'}}),
		);
		try {
			let archive: NodeJS.ReadableStream;
			try {
				archive = await container.getArchive({path: dir});
			} catch (error) {
				if ((error as {statusCode?: number}).statusCode === 404) return null;
				throw explainEngineError(error, this.address);
			}
			return await readTar(archive as Readable, {maxFileBytes, maxFiles});
		} finally {
			await container.remove({force: true, v: true}).catch(() => {});
		}
	}

	async copyFileOut(containerId: string, path: string, sink: NodeJS.WritableStream): Promise<DumpResult> {
		const archive = (await this.#call(() => this.#docker.getContainer(containerId).getArchive({path}))) as Readable;
		const tar = await import('tar');
		const hash = createHash('sha256');
		let bytes = 0;
		const parser = new tar.Parser();
		const done = new Promise<void>((resolve, reject) => {
			parser.on('entry', (entry: import('tar').ReadEntry) => {
				if (entry.type !== 'File') {
					entry.resume();
					return;
				}
				entry.on('data', (data: Buffer) => {
					hash.update(data);
					bytes += data.length;
					if (!sink.write(data)) {
						entry.pause();
						sink.once('drain', () => entry.resume());
					}
				});
			});
			parser.on('end', resolve);
			parser.on('error', reject);
		});
		archive.pipe(parser as unknown as NodeJS.WritableStream);
		await done;
		return {exitCode: 0, bytes, sha256: hash.digest('hex'), stderr: ''};
	}

	async statPath(containerId: string, path: string): Promise<PathStat | null> {
		try {
			const res = (await this.#docker.getContainer(containerId).infoArchive({path})) as {headers?: Record<string, string>; resume?: () => void};
			res.resume?.();
			const header = res.headers?.['x-docker-container-path-stat'];
			if (!header) return null;
			const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as {size: number; mode: number};
			return {size: stat.size, mode: stat.mode};
		} catch (error) {
			if ((error as {statusCode?: number}).statusCode === 404) return null;
			throw explainEngineError(error, this.address);
		}
	}

	async whilePaused<T>(containerId: string, work: () => Promise<T>): Promise<T> {
		const container = this.#docker.getContainer(containerId);
		const state = (await this.#call(() => container.inspect())).State;
		if (!state.Running || state.Paused) return work();
		await this.#call(() => container.pause());
		let unpaused: Promise<void> | null = null;
		const unpause = () => (unpaused ??= this.#call(() => container.unpause()).then(() => {}));
		// A signal meanwhile would end the process with the app still frozen: unpause first.
		const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
		const onSignal = (signal: NodeJS.Signals) => {
			for (const s of signals) process.removeListener(s, onSignal);
			void unpause()
				.catch(() => {})
				.finally(() => {
					if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
				});
		};
		for (const s of signals) process.on(s, onSignal);
		try {
			return await work();
		} finally {
			for (const s of signals) process.removeListener(s, onSignal);
			await unpause();
		}
	}

	async putFile(containerId: string, path: string, source: NodeJS.ReadableStream, size: number, mode = 0o644): Promise<void> {
		const slash = path.lastIndexOf('/');
		const dir = path.slice(0, slash) || '/';
		const name = path.slice(slash + 1);
		const {Header} = await import('tar');
		const header = new Header({path: name, mode, size, type: 'File', mtime: new Date(), uid: 0, gid: 0});
		header.encode();
		async function* tarStream() {
			yield header.block!;
			let sent = 0;
			for await (const chunk of source as AsyncIterable<Buffer>) {
				sent += chunk.length;
				if (sent > size) throw new Error(`${name}: the source grew while being sent`);
				yield chunk;
			}
			if (sent !== size) throw new Error(`${name}: ${sent} bytes sent, ${size} expected`);
			yield Buffer.alloc((512 - (size % 512)) % 512);
			yield Buffer.alloc(1024);
		}
		await this.#call(() => this.#docker.getContainer(containerId).putArchive(Readable.from(tarStream()), {path: dir, noOverwriteDirNonDir: true}));
	}

	async startHelper(image: string, mountsOf: string): Promise<string> {
		const container = await this.#call(() =>
			this.#docker.createContainer({
				Image: image,
				Entrypoint: [],
				Cmd: ['sleep', '86400'],
				User: '0',
				Labels: {'io.rollback-console.helper': '1'},
				HostConfig: {VolumesFrom: [mountsOf], NetworkMode: 'none'},
			}),
		);
		try {
			await this.#call(() => container.start());
		} catch (error) {
			await container.remove({force: true, v: false}).catch(() => {});
			throw error;
		}
		return container.id;
	}

	async removeContainer(containerId: string): Promise<void> {
		// v: false — the helper shares the app's volumes (VolumesFrom); removing it must never take one along.
		await this.#docker
			.getContainer(containerId)
			.remove({force: true, v: false})
			.catch(error => {
				if ((error as {statusCode?: number}).statusCode !== 404) throw explainEngineError(error, this.address);
			});
	}

	async stopContainers(ids: string[], timeoutSeconds = 10): Promise<void> {
		for (const id of ids) {
			await this.#call(() => this.#docker.getContainer(id).stop({t: timeoutSeconds})).catch(error => {
				if ((error as {statusCode?: number}).statusCode !== 304) throw error;
			});
		}
	}

	async startContainers(ids: string[]): Promise<void> {
		for (const id of ids) {
			await this.#call(() => this.#docker.getContainer(id).start()).catch(error => {
				if ((error as {statusCode?: number}).statusCode !== 304) throw error;
			});
		}
	}
}

/** The regular files of a tar stream, as text, each cut at maxFileBytes. */
async function readTar(archive: Readable, {maxFileBytes, maxFiles}: {maxFileBytes: number; maxFiles: number}): Promise<ArchivedFile[]> {
	const tar = await import('tar');
	const files: ArchivedFile[] = [];
	const parser = new tar.Parser();
	await new Promise<void>((resolve, reject) => {
		parser.on('entry', (entry: import('tar').ReadEntry) => {
			if (entry.type !== 'File' || files.length >= maxFiles) {
				entry.resume();
				return;
			}
			const parts: Buffer[] = [];
			let size = 0;
			entry.on('data', (data: Buffer) => {
				if (size < maxFileBytes) parts.push(data);
				size += data.length;
			});
			entry.on('end', () => {
				// The archive's paths start with the directory's own name: make them relative to it.
				const path = entry.path.split('/').slice(1).join('/');
				files.push({path, size, text: Buffer.concat(parts).subarray(0, maxFileBytes).toString('utf8')});
			});
		});
		parser.on('end', resolve);
		parser.on('error', reject);
		archive.on('error', reject);
		archive.pipe(parser as unknown as NodeJS.WritableStream);
	});
	return files.sort((a, b) => a.path.localeCompare(b.path));
}
