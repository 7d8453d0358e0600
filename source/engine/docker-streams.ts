/** Long-lived Engine API streams (events, logs) as async iterables that end on abort. */
import type {IncomingMessage} from 'node:http';
import type Docker from 'dockerode';
import {ConsoleError} from '../errors.js';
import {engineAddress, explainEngineError} from './known-errors.js';
import {fixedTime, nsToApiTime, nsToRfc3339, secondsToApiTime, timeToNs} from './engine-time.js';
import {ContainerTracker, type ContainerSeen} from './container-tracker.js';
import {engineBody} from './engine-body-stream.js';
import {containerActions, toEvent, type RawEvent} from './engine-records.js';
import {LineAssembler, LogStreamReader, type LogEncoding} from './log-line-assembler.js';
import {LogCursor} from './log-cursor.js';
import {marker, RestartMarkers, takeLines} from './restart-markers.js';
import type {Target} from './engine-http.js';
import type {ContainerAction, ContainerEvent, EventHandlers, EventStreamState, LogLine} from './types.js';

export type {ContainerAction, ContainerEvent, EventHandlers, EventStreamState, LogLine} from './types.js';
export {timeToNs} from './engine-time.js';
export {toEvent, type RawEvent} from './engine-records.js';

export interface ContainerEventsOptions {
	project: string;
	/** Narrows to one Compose service. */
	service?: string;
	/** Unix seconds (may be fractional): replay the Engine's buffered events from then on. */
	since?: number;
}

/** EventHandlers with `onState` optional. */
export type WatchEventsHandlers = Pick<EventHandlers, 'onEvent'> & Partial<Pick<EventHandlers, 'onState'>>;

export interface LogOptions {
	/** Lines of backlog; 'all' for the whole log. */
	tail?: number | 'all';
	/** Unix seconds (may be fractional). */
	since?: number;
	follow?: boolean;
	timestamps?: boolean;
	/** latin1 keeps every byte (invalid UTF-8, binary) for writing back exactly; utf8 by default. */
	encoding?: LogEncoding;
}

export interface FollowServiceOptions {
	/** Backlog when attaching to a container for the first time. */
	tail?: number | 'all';
	/** Compose replica number; default: the newest container of the service. */
	number?: number;
	/** How often to look at the container while it is not running (events wake us sooner). */
	pollMs?: number;
	/** False leaves `time` null on the lines (they are still read with timestamps, to resume). */
	timestamps?: boolean;
}

/** A long-lived stream from the Engine ended or broke: the caller may reconnect. */
export class EngineStreamError extends ConsoleError {
	constructor(message: string, options?: {cause?: unknown}) {
		super(message);
		this.name = 'EngineStreamError';
		if (options && 'cause' in options) this.cause = options.cause;
	}
}

interface ModemAddress {
	socketPath?: string | (() => unknown);
	socketPathCache?: string;
	host?: string;
	port?: string | number;
	protocol?: string;
}

/** Where the Engine is, for messages, as DockerEngine.address says it. */
function addressOf(docker: Docker): string {
	const modem = docker.modem as unknown as ModemAddress;
	// docker-modem finds the default socket lazily (a function) and caches what it found.
	const socket = typeof modem.socketPath === 'string' ? modem.socketPath : modem.socketPathCache;
	if (typeof socket === 'string') return `unix://${socket}`;
	if (modem.host) return `${modem.protocol ?? 'http'}://${modem.host}${modem.port ? `:${modem.port}` : ''}`;
	return engineAddress();
}

function statusCode(error: unknown): number | undefined {
	return (error as {statusCode?: number} | undefined)?.statusCode;
}

/** Known errors become their one sentence; anything else that breaks a stream becomes an EngineStreamError. */
function streamError(what: string, error: unknown, docker: Docker): unknown {
	const address = addressOf(docker);
	const explained = explainEngineError(error, address);
	if (explained !== error || statusCode(error) !== undefined) return explained;
	const reason = error instanceof Error ? error.message : String(error);
	return new EngineStreamError(`lost the ${what} stream from the Docker Engine at ${address}: ${reason}`, {cause: error});
}

// Aborting the request destroys the response with an AbortError or ECONNRESET; both mean "we stopped".
function destroyOnAbort(response: IncomingMessage, signal: AbortSignal): () => void {
	const onAbort = () => response.destroy();
	signal.addEventListener('abort', onAbort, {once: true});
	return () => signal.removeEventListener('abort', onAbort);
}

function dial(docker: Docker, path: string, query: Record<string, string | number>, signal: AbortSignal): Promise<IncomingMessage> {
	return new Promise((resolve, reject) => {
		docker.modem.dial(
			{
				path: `${path}?`,
				method: 'GET',
				options: query,
				abortSignal: signal,
				// Always a stream: dockerode buffers non-follow logs and may even JSON.parse them.
				isStream: true,
				statusCodes: {200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error'},
			},
			(error, result) => (error ? reject(error) : resolve(result as IncomingMessage)),
		);
	});
}

// ---------------------------------------------------------------- events

interface EventQuery {
	project: string;
	service?: string;
	/** The Engine's "seconds.nanoseconds". */
	since?: string;
}

/** One connection to GET /events. `onLive` gets the Engine's clock (ns) from the response. */
async function* eventConnection(
	docker: Docker,
	query: EventQuery,
	signal: AbortSignal,
	onLive?: (engineNow: bigint) => void,
): AsyncGenerator<RawEvent, void, undefined> {
	if (signal.aborted) return;
	const label = [`com.docker.compose.project=${query.project}`];
	if (query.service !== undefined) label.push(`com.docker.compose.service=${query.service}`);
	let response: IncomingMessage;
	try {
		response = (await docker.getEvents({
			// The engine matches "health_status" against "health_status: …" by prefix.
			filters: {type: ['container'], label, event: [...containerActions]},
			...(query.since === undefined ? {} : {since: query.since}),
			abortSignal: signal,
		} as Docker.GetEventsOptions)) as IncomingMessage;
	} catch (error) {
		if (signal.aborted) return;
		throw streamError('event', error, docker);
	}
	const stop = destroyOnAbort(response, signal);
	try {
		const date = Date.parse(response.headers?.date ?? '');
		onLive?.(BigInt(Number.isNaN(date) ? Date.now() : date) * 1_000_000n);
		response.setEncoding('utf8');
		let rest = '';
		for await (const chunk of response as AsyncIterable<string>) {
			rest += chunk;
			let start = 0;
			let newline: number;
			while ((newline = rest.indexOf('\n', start)) !== -1) {
				const line = rest.slice(start, newline).trim();
				start = newline + 1;
				if (line === '') continue;
				const parsed = toEvent(line);
				if (parsed) yield parsed;
			}
			rest = rest.slice(start);
		}
		if (signal.aborted) return;
		throw new EngineStreamError(`the Docker Engine at ${addressOf(docker)} closed the event stream`);
	} catch (error) {
		if (signal.aborted) return;
		throw error instanceof EngineStreamError ? error : streamError('event', error, docker);
	} finally {
		stop();
		response.destroy();
	}
}

/**
 * Container events of a Compose project, live (or from `since`). Ends quietly when
 * `signal` aborts; throws when the stream drops, so the caller can reconnect.
 */
export async function* containerEvents(
	docker: Docker,
	options: ContainerEventsOptions,
	signal: AbortSignal,
): AsyncIterable<ContainerEvent> {
	const query: EventQuery = {project: options.project};
	if (options.service !== undefined) query.service = options.service;
	if (options.since !== undefined) query.since = secondsToApiTime(options.since);
	for await (const {event} of eventConnection(docker, query, signal)) yield event;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise(resolve => {
		if (signal.aborted) return resolve();
		const done = () => {
			clearTimeout(timer);
			signal.removeEventListener('abort', done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		signal.addEventListener('abort', done, {once: true});
	});
}

async function superviseEvents(
	docker: Docker,
	target: {project: string; service?: string},
	signal: AbortSignal,
	onEvent: (raw: RawEvent) => void,
	onState: (state: EventStreamState, error?: unknown) => void,
): Promise<void> {
	const seen = new Map<string, bigint>();
	let last: bigint | null = null;
	let connectedAt: bigint | null = null;
	let delay = 250;
	while (!signal.aborted) {
		const query: EventQuery = {...target};
		// Replay the gap from the Engine's buffer (it keeps the last 256 events); the
		// boundary event comes again and is dropped by its key.
		const from = last ?? connectedAt;
		if (from !== null) query.since = nsToApiTime(from);
		try {
			const connection = eventConnection(docker, query, signal, now => {
				connectedAt ??= now;
				delay = 250;
				onState('live');
			});
			for await (const raw of connection) {
				if (seen.has(raw.key)) continue;
				seen.set(raw.key, raw.timeNano);
				if (last === null || raw.timeNano > last) last = raw.timeNano;
				if (seen.size > 512) {
					for (const [key, time] of seen) if (time < last) seen.delete(key);
				}
				onEvent(raw);
			}
		} catch (error) {
			if (signal.aborted) return;
			onState('reconnecting', error);
			await sleep(delay, signal);
			delay = Math.min(delay * 2, 5000);
		}
	}
}

/**
 * Keeps a project's container events coming: reconnects with backoff (250 ms doubling
 * to 5 s) and replays what happened during the gap. Resolves when `signal` aborts; never
 * rejects (a handler that throws does, though).
 */
export async function watchContainerEvents(
	docker: Docker,
	target: {project: string; service?: string},
	signal: AbortSignal,
	handlers: WatchEventsHandlers,
): Promise<void> {
	await superviseEvents(
		docker,
		target,
		signal,
		raw => handlers.onEvent(raw.event),
		(state, error) => handlers.onState?.(state, error),
	);
}

// ---------------------------------------------------------------- logs

interface LogQuery {
	tail: number | 'all';
	/** "seconds.nanoseconds" */
	since?: string;
	until?: string;
	follow: boolean;
	timestamps: boolean;
}

/** Where engineBody can reach dockerode's Engine (its socket, or plain http), else null (TLS, ssh://). */
async function plainTargetOf(docker: Docker): Promise<Target | null> {
	const modem = docker.modem as {socketPath?: unknown; protocol?: unknown; host?: unknown; port?: unknown};
	// docker-modem's default socket is a function that finds it (~/.docker/run/docker.sock, else /var/run/docker.sock).
	const socketPath = typeof modem.socketPath === 'function' ? await (modem.socketPath as () => Promise<unknown>)() : modem.socketPath;
	if (typeof socketPath === 'string') return {socketPath};
	if (modem.protocol === 'http' && typeof modem.host === 'string') return {host: modem.host, port: Number(modem.port)};
	return null;
}

/**
 * One log request's body. Straight off the socket where that reaches the Engine: under a flood
 * the Engine sends a line per HTTP chunk, and node's client made a Buffer and a stream push of
 * each (a sixth of the console's CPU, and the garbage it left); through dockerode otherwise.
 */
async function logBody(docker: Docker, path: string, params: Record<string, string | number>, signal: AbortSignal): Promise<{body: AsyncIterable<Buffer>; close: () => void}> {
	const target = await plainTargetOf(docker);
	if (target) {
		const query = Object.entries(params).map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
		return {body: engineBody(target, `${path}?${query}`, signal), close: () => {}};
	}
	const response = await dial(docker, path, params, signal);
	const stop = destroyOnAbort(response, signal);
	return {
		body: response as AsyncIterable<Buffer>,
		close: () => {
			stop();
			response.destroy();
		},
	};
}

async function* logConnection(
	docker: Docker,
	containerId: string,
	query: LogQuery,
	tty: boolean | undefined,
	signal: AbortSignal,
	encoding: LogEncoding = 'utf8',
): AsyncGenerator<LogLine[], void, undefined> {
	if (signal.aborted) return;
	let response: {body: AsyncIterable<Buffer>; close: () => void};
	try {
		// API 1.41 sends no content type that tells raw from multiplexed: ask the container.
		tty ??= Boolean((await docker.getContainer(containerId).inspect({abortSignal: signal})).Config?.Tty);
		const params: Record<string, string | number> = {
			stdout: 1,
			stderr: 1,
			follow: query.follow ? 1 : 0,
			timestamps: query.timestamps ? 1 : 0,
			tail: String(query.tail),
		};
		if (query.since !== undefined) params['since'] = query.since;
		if (query.until !== undefined) params['until'] = query.until;
		response = await logBody(docker, `/containers/${encodeURIComponent(containerId)}/logs`, params, signal);
	} catch (error) {
		if (signal.aborted) return;
		throw logError(error, containerId, docker);
	}
	const reader = new LogStreamReader(new LineAssembler(query.timestamps, encoding), tty);
	try {
		for await (const chunk of response.body) {
			const out: LogLine[] = [];
			reader.chunk(chunk, out);
			if (out.length > 0) yield out;
		}
		if (signal.aborted) return;
		const out: LogLine[] = [];
		reader.end(out);
		if (out.length > 0) yield out;
	} catch (error) {
		if (signal.aborted) return;
		// Straight off the socket, the Engine's answer comes with the body: a 404 is said here.
		throw logError(error, containerId, docker);
	} finally {
		response.close();
	}
}

function logError(error: unknown, containerId: string, docker: Docker): unknown {
	// Kept as a property: followServiceLogs takes a 404 as "the container is gone".
	if (statusCode(error) === 404) return Object.assign(new ConsoleError(`no such container: ${containerId}`), {statusCode: 404});
	return streamError('log', error, docker);
}

function toLogQuery(options: LogOptions): LogQuery {
	const query: LogQuery = {
		tail: options.tail ?? 200,
		follow: options.follow ?? true,
		timestamps: options.timestamps ?? true,
	};
	if (options.since !== undefined) query.since = secondsToApiTime(options.since);
	return query;
}

/**
 * A container's log, one batch of whole lines per chunk the Engine sends (thousands of
 * lines per second cost one promise per chunk, not per line). Ends when the container
 * stops (follow) or the log is read, and quietly when `signal` aborts.
 */
export function containerLogBatches(
	docker: Docker,
	containerId: string,
	options: LogOptions,
	signal: AbortSignal,
): AsyncIterable<LogLine[]> {
	return logConnection(docker, containerId, toLogQuery(options), undefined, signal, options.encoding);
}

/** containerLogBatches, one line at a time. */
export async function* containerLogs(
	docker: Docker,
	containerId: string,
	options: LogOptions,
	signal: AbortSignal,
): AsyncIterable<LogLine> {
	for await (const batch of containerLogBatches(docker, containerId, options, signal)) yield* batch;
}

// ---------------------------------------------------------------- one service, across restarts

/** Resolves on notify() (also one that came while nobody waited), after `ms`, or on abort. */
class Waker {
	#resolve: (() => void) | null = null;
	#pending = false;

	notify(): void {
		if (this.#resolve) this.#resolve();
		else this.#pending = true;
	}

	async wait(ms: number, signal: AbortSignal): Promise<void> {
		if (this.#pending) {
			this.#pending = false;
			return;
		}
		const controller = new AbortController();
		const onAbort = () => controller.abort();
		signal.addEventListener('abort', onAbort, {once: true});
		const woken = new Promise<void>(resolve => {
			this.#resolve = resolve;
		});
		return Promise.race([woken, sleep(ms, controller.signal)]).finally(() => {
			this.#resolve = null;
			controller.abort();
			signal.removeEventListener('abort', onAbort);
		});
	}
}

/** The service's container to follow: the newest one (a recreate leaves the old one briefly). */
async function pickContainer(
	docker: Docker,
	target: {project: string; service: string},
	number: number | undefined,
	signal: AbortSignal,
): Promise<Docker.ContainerInspectInfo | null> {
	const label = [`com.docker.compose.project=${target.project}`, `com.docker.compose.service=${target.service}`];
	if (number !== undefined) label.push(`com.docker.compose.container-number=${number}`);
	const list = await docker.listContainers({all: true, filters: {label}, abortSignal: signal} as Docker.ContainerListOptions);
	const candidates = list.filter(c => c.Labels['com.docker.compose.oneoff'] !== 'True');
	let best: {info: Docker.ContainerInspectInfo; created: bigint} | null = null;
	for (const candidate of candidates) {
		let info: Docker.ContainerInspectInfo;
		try {
			info = await docker.getContainer(candidate.Id).inspect({abortSignal: signal});
		} catch (error) {
			if (statusCode(error) === 404) continue;
			throw error;
		}
		const created = timeToNs(info.Created) ?? 0n;
		if (!best || created > best.created) best = {info, created};
	}
	return best?.info ?? null;
}

/**
 * Follows a Compose service's log across restarts (re-attaching from the last line seen)
 * and recreation (switching to the new container), with marker lines at the boundaries.
 * Ends only when `signal` aborts.
 */
export async function* followServiceLogs(
	docker: Docker,
	target: {project: string; service: string},
	options: FollowServiceOptions,
	signal: AbortSignal,
): AsyncIterable<LogLine[]> {
	const batches = followService(docker, target, options, signal);
	if (options.timestamps !== false) return yield* batches;
	for await (const batch of batches) yield batch.map(line => (line.marker ? line : {...line, time: null}));
}

const seenFrom = (info: Docker.ContainerInspectInfo): ContainerSeen => ({
	id: info.Id,
	name: info.Name.replace(/^\//, ''),
	tty: Boolean(info.Config?.Tty),
	running: info.State?.Status === 'running' || info.State?.Status === 'paused',
	startedAt: info.State?.StartedAt ?? '',
	created: info.Created,
});

/** After one look: wait before the next (nothing to read, or it failed), and whether a stream just ended. */
type Looked = {idle: boolean; ended: boolean} | 'stop';

/**
 * One service's log, followed: which container and run (the tracker), where we are in it
 * (the cursor), the exits still to mark (the markers), and whether the Engine is failing
 * (said once, not at every poll). Each look picks the newest container, reads what is new
 * and says whether to wait before the next.
 */
class ServiceFollower {
	readonly tracker = new ContainerTracker();
	readonly cursor = new LogCursor();
	readonly markers = new RestartMarkers();
	/** Woken by events, so an exit is seen at once; polling covers their gaps. */
	readonly waker = new Waker();
	/** The event stream is live: exits come from it, not from inspect. */
	eventsLive = false;
	#failing = false;

	constructor(
		readonly docker: Docker,
		readonly target: {project: string; service: string},
		readonly options: FollowServiceOptions,
		/** The caller's signal (stop) and ours (also aborted when the caller's is). */
		readonly signal: AbortSignal,
		readonly inner: AbortSignal,
	) {}

	async *look(justEnded: boolean): AsyncGenerator<LogLine[], Looked, undefined> {
		let info: Docker.ContainerInspectInfo | null;
		try {
			info = await pickContainer(this.docker, this.target, this.options.number, this.inner);
		} catch (error) {
			if (this.signal.aborted) return 'stop';
			const note = this.#failed('cannot list containers', error);
			if (note) yield note;
			return {idle: true, ended: false};
		}
		if (!info) return {idle: true, ended: false};
		const seen = seenFrom(info);
		if (!this.eventsLive && this.tracker.attached?.id === seen.id) {
			// A running container's ExitCode is reset to 0: only a stopped one's is its exit.
			const finishedNs = timeToNs(info.State?.FinishedAt ?? '');
			if (finishedNs !== null) this.markers.add({containerId: seen.id, timeNano: finishedNs, exitCode: seen.running ? null : (info.State?.ExitCode ?? null)});
		}
		const next = this.tracker.next(seen, justEnded);
		let query: LogQuery;
		if (next.kind === 'wait') return {idle: true, ended: false};
		if (next.kind === 'attach') {
			if (next.marker) yield [next.marker];
			this.markers.attach(seen.id, timeToNs(seen.startedAt) ?? 0n);
			this.cursor.reset();
			query = {tail: this.options.tail ?? 200, follow: true, timestamps: true};
		} else if (next.kind === 'restarted') {
			if (!(yield* this.#catchUp(seen, next))) return this.signal.aborted ? 'stop' : {idle: true, ended: false};
			query = this.#fromCursor({tail: 'all', follow: true, timestamps: true});
		} else {
			query = this.#fromCursor({tail: this.cursor.time === null ? (this.options.tail ?? 200) : 'all', follow: true, timestamps: true});
		}
		const read = yield* this.#read(seen, query);
		if (!read && this.signal.aborted) return 'stop';
		// The stream ended: the container stopped (or the Engine let go). Look again.
		return {idle: !read, ended: true};
	}

	/** Reads with `query` and yields what is new; false when the stream failed (its note yielded). */
	async *#read(seen: ContainerSeen, query: LogQuery): AsyncGenerator<LogLine[], boolean, undefined> {
		try {
			for await (const batch of logConnection(this.docker, seen.id, query, seen.tty, this.inner)) {
				this.#failing = false;
				const out = takeLines(batch, seen, this.cursor, this.markers);
				if (out.length > 0) yield out;
			}
			this.#failing = false;
			return true;
		} catch (error) {
			if (this.signal.aborted) return false;
			const note = statusCode(error) === 404 ? null : this.#failed('log stream lost', error);
			if (note) yield note;
			return false;
		}
	}

	/**
	 * The same container ran again since we read it: read up to this run's start (so the
	 * markers of the exits in between land between the right lines), then the markers.
	 */
	async *#catchUp(seen: ContainerSeen, run: {startNs: bigint | null; previousNs: bigint}): AsyncGenerator<LogLine[], boolean, undefined> {
		if (run.startNs !== null && !(yield* this.#read(seen, this.#fromCursor({tail: 'all', follow: false, timestamps: true, until: nsToApiTime(run.startNs)})))) return false;
		// The die event may still be on its way.
		if (this.eventsLive && !this.markers.pending(seen.id)) await this.waker.wait(250, this.inner);
		const out = this.markers.until(seen.id, run.startNs, seen.name);
		// Nothing told us about the exit that ended the previous run.
		if (this.markers.lastNs <= run.previousNs) {
			this.markers.lastNs = run.startNs ?? run.previousNs;
			out.push(marker(fixedTime(seen.startedAt), `container ${seen.name} restarted (exit ?)`));
		}
		if (out.length > 0) yield out;
		this.tracker.ran(seen.startedAt);
		return true;
	}

	#fromCursor(query: LogQuery): LogQuery {
		const since = this.cursor.since();
		return since === undefined ? query : {...query, since};
	}

	#failed(what: string, error: unknown): LogLine[] | null {
		if (this.#failing) return null;
		this.#failing = true;
		const message = (explainEngineError(error, addressOf(this.docker)) as Error | undefined)?.message ?? String(error);
		return [marker(nsToRfc3339(BigInt(Date.now()) * 1_000_000n), `${what}: ${message}; retrying`)];
	}
}

/** Looks, reads what is new, and waits for an event or the poll interval when there is nothing to read. */
const lifecycle = new Set(['create', 'start', 'restart', 'die', 'stop', 'destroy', 'oom']);

async function* followService(
	docker: Docker,
	target: {project: string; service: string},
	options: FollowServiceOptions,
	signal: AbortSignal,
): AsyncGenerator<LogLine[], void, undefined> {
	const inner = new AbortController();
	const onAbort = () => inner.abort();
	signal.addEventListener('abort', onAbort, {once: true});
	if (signal.aborted) inner.abort();
	const follower = new ServiceFollower(docker, target, options, signal, inner.signal);
	const events = superviseEvents(
		docker,
		target,
		inner.signal,
		({event, timeNano}) => {
			if (event.action === 'die') follower.markers.add({containerId: event.containerId, timeNano, exitCode: event.exitCode});
			// Only a change of which container runs is worth looking again for; a storm of `kill`
			// signals a container shrugs off would otherwise mean an inspect each, per service.
			if (lifecycle.has(event.action)) follower.waker.notify();
		},
		state => {
			follower.eventsLive = state === 'live';
		},
	).catch(() => {});
	// Wait before looking again; the last stream just ended (look at once, to catch the exit, but do not spin on it).
	let looked: Looked = {idle: false, ended: false};
	try {
		while (!signal.aborted) {
			if (looked.idle) await follower.waker.wait(options.pollMs ?? 500, inner.signal);
			if (signal.aborted) break;
			looked = yield* follower.look(looked.ended);
			if (looked === 'stop') break;
		}
	} finally {
		inner.abort();
		signal.removeEventListener('abort', onAbort);
		await events;
	}
}
