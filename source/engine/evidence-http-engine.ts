// `capture` asks the Engine a dozen plain questions and reads each container's whole log.
// dockerode costs it what it costs `status` (on node 20 it loads gRPC, protobuf and ssh2:
// ~150 ms of a capture's start, before the first log is asked for), so on a local socket or
// a plain tcp:// address these go over node's own HTTP too; TLS and ssh:// keep dockerode.
import type {IncomingMessage} from 'node:http';
import {ConsoleError} from '../errors.js';
import {orNotFound} from './engine-records.js';
import {engineAddress, explainEngineError} from './known-errors.js';
import {LineAssembler, LogStreamReader, LogTextAssembler} from './log-line-assembler.js';
import {EngineHttpError, HttpStatusEngine, plainTarget, query, request, type Target} from './status-engine.js';
import type {Engine, EvidenceEngine, LogLine} from './types.js';

/** An Engine that also gives a container's log as text (LogTextAssembler's lines), one string per chunk read. */
export interface LogTextEngine {
	/**
	 * The whole log, timestamped, each line `TIME STREAM TEXT\n` in latin1; `tty` as the
	 * container's inspect says (asked when not given).
	 */
	containerLogText(id: string, signal: AbortSignal, options?: {tty?: boolean}): AsyncIterable<string>;
}

export type CaptureEngine = Pick<Engine, 'address' | 'version' | 'projectContainers'> & EvidenceEngine & Partial<LogTextEngine>;

export const hasLogText = (engine: object): engine is LogTextEngine => typeof (engine as Partial<LogTextEngine>).containerLogText === 'function';

const http = () => process.getBuiltinModule('node:http');

/** A GET whose body is read as it comes; an answer other than 2xx is an EngineHttpError with the Engine's message. */
function openStream(target: Target, path: string, signal: AbortSignal): Promise<IncomingMessage> {
	return new Promise((resolve, reject) => {
		const options = {...target, path, method: 'GET', headers: {host: 'docker'}, servername: 'docker', signal};
		const req = http().request(options, response => {
			const status = response.statusCode ?? 0;
			if (status >= 200 && status < 300) return resolve(response);
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('error', reject);
			response.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let message = text.trim();
				try {
					message = (JSON.parse(text) as {message?: string}).message ?? message;
				} catch {
					// Not JSON: the text as it came.
				}
				reject(new EngineHttpError(status, `(HTTP code ${status}) ${message}`));
			});
		});
		req.on('error', reject);
		req.end();
	});
}

class HttpEvidenceEngine implements CaptureEngine, LogTextEngine {
	readonly #status: HttpStatusEngine;

	constructor(
		readonly address: string,
		readonly target: Target,
	) {
		this.#status = new HttpStatusEngine(address, target);
	}

	version = () => this.#status.version();
	projectContainers = (project: string) => this.#status.projectContainers(project);

	async #get<T>(path: string): Promise<T> {
		try {
			return JSON.parse(await request(this.target, path)) as T;
		} catch (error) {
			throw explainEngineError(error, this.address);
		}
	}

	inspectContainerRaw(id: string): Promise<Record<string, unknown> | null> {
		return orNotFound(() => this.#get<Record<string, unknown>>(`/containers/${encodeURIComponent(id)}/json`));
	}

	inspectImageRaw(reference: string): Promise<Record<string, unknown> | null> {
		return orNotFound(() => this.#get<Record<string, unknown>>(`/images/${encodeURIComponent(reference)}/json`));
	}

	infoRaw = () => this.#get<Record<string, unknown>>('/info');
	versionRaw = () => this.#get<Record<string, unknown>>('/version');
	systemDf = () => this.#get<Record<string, unknown>>('/system/df');

	async projectEvents(project: string, range: {since: number; until: number}, signal: AbortSignal): Promise<Array<Record<string, unknown>>> {
		let text: string;
		try {
			text = await request(this.target, `/events?${query({since: range.since, until: range.until, filters: {label: [`com.docker.compose.project=${project}`]}})}`, signal);
		} catch (error) {
			if (signal.aborted) throw signal.reason ?? error;
			throw explainEngineError(error, this.address);
		}
		const events: Array<Record<string, unknown>> = [];
		for (const line of text.split('\n')) {
			if (line.trim() === '') continue;
			try {
				events.push(JSON.parse(line) as Record<string, unknown>);
			} catch {
				// A line cut off by an abort: the rest is still evidence.
			}
		}
		return events;
	}

	async *containerLogText(id: string, signal: AbortSignal, options: {tty?: boolean} = {}): AsyncIterable<string> {
		const lines = new LogTextAssembler(true);
		// LogTextAssembler keeps the lines itself: the batches stay empty.
		for await (const _ of this.#log(id, signal, lines, options.tty)) {
			const text = lines.take();
			if (text !== '') yield text;
		}
	}

	async *containerLog(id: string, signal: AbortSignal, options: {bytes?: boolean} = {}): AsyncIterable<LogLine[]> {
		for await (const batch of this.#log(id, signal, new LineAssembler(true, options.bytes ? 'latin1' : 'utf8'))) if (batch.length > 0) yield batch;
	}

	/** The whole log through `lines`, a batch per chunk read and one at the end; quietly nothing once `signal` aborts. */
	async *#log(id: string, signal: AbortSignal, lines: LineAssembler, tty?: boolean): AsyncIterable<LogLine[]> {
		if (signal.aborted) return;
		let response: IncomingMessage;
		try {
			// API 1.41 sends no content type that tells raw from multiplexed: ask the container.
			tty ??= Boolean((await this.#get<{Config?: {Tty?: boolean}}>(`/containers/${encodeURIComponent(id)}/json`)).Config?.Tty);
			response = await openStream(this.target, `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&follow=0&timestamps=1&tail=all`, signal);
		} catch (error) {
			if (signal.aborted) return;
			if ((error as {statusCode?: number}).statusCode === 404) throw Object.assign(new ConsoleError(`no such container: ${id}`), {statusCode: 404});
			throw explainEngineError(error, this.address);
		}
		const reader = new LogStreamReader(lines, tty);
		try {
			for await (const chunk of response as AsyncIterable<Buffer>) {
				const out: LogLine[] = [];
				reader.chunk(chunk, out);
				yield out;
			}
			if (signal.aborted) return;
			const out: LogLine[] = [];
			reader.end(out);
			yield out;
		} catch (error) {
			if (signal.aborted) return;
			throw new ConsoleError(`lost the log stream from the Docker Engine at ${this.address}: ${error instanceof Error ? error.message : String(error)}`);
		} finally {
			response.destroy();
		}
	}
}

/** The Engine for `capture`: plain HTTP where that reaches it, else dockerode. */
export async function connectCaptureEngine(env: NodeJS.ProcessEnv = process.env): Promise<CaptureEngine> {
	const target = plainTarget(env);
	if (target) return new HttpEvidenceEngine(engineAddress(env), target);
	const {DockerEngine} = await import('./docker-engine.js');
	return DockerEngine.connect(env);
}
