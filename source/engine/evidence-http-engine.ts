// `capture` asks the Engine a dozen plain questions and reads each container's whole log.
// dockerode costs it what it costs `status` (on node 20 it loads gRPC, protobuf and ssh2:
// ~150 ms of a capture's start, before the first log is asked for), so on a local socket or
// a plain tcp:// address these go over node's own HTTP too; TLS and ssh:// keep dockerode.
import {ConsoleError} from '../errors.js';
import {engineBody} from './engine-body-stream.js';
import {orNotFound, rawEventsFromText} from './engine-records.js';
import {explainEngineError} from './known-errors.js';
import {LineAssembler, LogStreamReader, LogTextAssembler} from './log-line-assembler.js';
import {EngineHttpError, query} from './engine-http.js';
import {HttpStatusEngine, plainOrDockerode} from './status-engine.js';
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

class HttpEvidenceEngine extends HttpStatusEngine implements CaptureEngine, LogTextEngine {
	inspectContainerRaw(id: string): Promise<Record<string, unknown> | null> {
		return orNotFound(() => this.json<Record<string, unknown>>(`/containers/${encodeURIComponent(id)}/json`));
	}

	inspectImageRaw(reference: string): Promise<Record<string, unknown> | null> {
		return orNotFound(() => this.json<Record<string, unknown>>(`/images/${encodeURIComponent(reference)}/json`));
	}

	infoRaw = () => this.json<Record<string, unknown>>('/info');
	versionRaw = () => this.json<Record<string, unknown>>('/version');
	systemDf = () => this.json<Record<string, unknown>>('/system/df');

	async projectEvents(project: string, range: {since: number; until: number}, signal: AbortSignal): Promise<Array<Record<string, unknown>>> {
		return rawEventsFromText(await this.text(`/events?${query({since: range.since, until: range.until, filters: {label: [`com.docker.compose.project=${project}`]}})}`, signal));
	}

	async *containerLogText(id: string, signal: AbortSignal, options: {tty?: boolean} = {}): AsyncIterable<string> {
		const lines = new LogTextAssembler(true);
		// LogTextAssembler keeps the lines itself: the batches stay empty. The Engine sends a log
		// a line per HTTP chunk: what arrived is passed on in blocks of 64 KiB or more, each redacted
		// and written at once, and the last one at the end.
		for await (const _ of this.#log(id, signal, lines, options.tty)) if (lines.size >= 64 * 1024) yield lines.take();
		if (lines.size > 0) yield lines.take();
	}

	async *containerLog(id: string, signal: AbortSignal, options: {bytes?: boolean} = {}): AsyncIterable<LogLine[]> {
		for await (const batch of this.#log(id, signal, new LineAssembler(true, options.bytes ? 'latin1' : 'utf8'))) if (batch.length > 0) yield batch;
	}

	/** The whole log through `lines`, a batch per read of the socket and one at the end; quietly nothing once `signal` aborts. */
	async *#log(id: string, signal: AbortSignal, lines: LineAssembler, tty?: boolean): AsyncIterable<LogLine[]> {
		if (signal.aborted) return;
		try {
			// API 1.41 sends no content type that tells raw from multiplexed: ask the container.
			tty ??= Boolean((await this.json<{Config?: {Tty?: boolean}}>(`/containers/${encodeURIComponent(id)}/json`)).Config?.Tty);
			const reader = new LogStreamReader(lines, tty);
			for await (const bytes of engineBody(this.target, `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&follow=0&timestamps=1&tail=all`, signal)) {
				const out: LogLine[] = [];
				reader.chunk(bytes, out);
				yield out;
			}
			const out: LogLine[] = [];
			reader.end(out);
			yield out;
		} catch (error) {
			if (signal.aborted) return;
			if ((error as {statusCode?: number}).statusCode === 404) throw Object.assign(new ConsoleError(`no such container: ${id}`), {statusCode: 404});
			const explained = explainEngineError(error, this.address);
			if (explained !== error || error instanceof EngineHttpError) throw explained;
			throw new ConsoleError(`lost the log stream from the Docker Engine at ${this.address}: ${error instanceof Error ? error.message : String(error)}`);
		}
	}
}

/** The Engine for `capture`. */
export const connectCaptureEngine = (env: NodeJS.ProcessEnv = process.env): Promise<CaptureEngine> =>
	plainOrDockerode((address, target) => new HttpEvidenceEngine(address, target), env);
