import type {ContainerAction, ContainerEvent, Engine, EventStreamState, ImageInfo} from '../engine/types.js';
import {buildServiceStatus, type ServiceStatus} from './service-status.js';
import type {LoadedProject} from './status.js';

const tracked = new Set<ContainerAction>(['die', 'start', 'kill', 'stop', 'destroy']);

export type FeedMode = 'starting' | 'live' | 'polling';

export interface ServicesSnapshot {
	services: ServiceStatus[];
	/** live: driven by the Engine's event stream; polling: the stream is down, we poll. */
	mode: FeedMode;
	updatedAt: number;
	/** Services crash-looping: restarted by their policy within the crash window (the `↑` beside their restarts). */
	rising: ReadonlySet<string>;
	/** The last event seen, for the header ("web died (exit 2) 3s ago"). */
	lastEvent: ContainerEvent | null;
	error: string | null;
	/**
	 * The Engine stopped answering (a listing failed): the states above are the last answer,
	 * not the truth, so the console shows them as unknown since then. Null once it answers.
	 */
	engineDown?: {since: number; error: string} | null;
}

// While something crash-loops, look again this often: a loop ends by time passing, with no event.
const loopRecheckMs = 5000;

/**
 * The project's services, kept current by the Engine's event stream (not a polling loop).
 * Each event triggers one debounced re-read of the project's containers; while the stream
 * is down the feed polls, and says so.
 */
export class ServicesFeed {
	readonly #engine: Engine;
	readonly #loaded: LoadedProject;
	readonly #listeners = new Set<(snapshot: ServicesSnapshot) => void>();
	readonly #images = new Map<string, ImageInfo>();
	/** The project's recent die/start/kill/stop events, kept for the crash window. */
	#events: ContainerEvent[] = [];
	#recheck: NodeJS.Timeout | undefined;
	#stopped = false;
	readonly #now: () => number;
	readonly #debounceMs: number;
	readonly #pollMs: number;
	#snapshot: ServicesSnapshot;
	#timer: NodeJS.Timeout | undefined;
	#poller: NodeJS.Timeout | undefined;
	#refreshing: Promise<void> | undefined;
	#again = false;
	/** When the event stream dropped: the start of "unknown" if the Engine then does not answer. */
	#streamDownAt: number | null = null;
	#lastEvent: ContainerEvent | null = null;

	constructor(engine: Engine, loaded: LoadedProject, options: {now?: () => number; debounceMs?: number; pollMs?: number} = {}) {
		this.#engine = engine;
		this.#loaded = loaded;
		this.#now = options.now ?? Date.now;
		this.#debounceMs = options.debounceMs ?? 60;
		this.#pollMs = options.pollMs ?? 2000;
		this.#snapshot = {services: [], mode: 'starting', updatedAt: 0, rising: new Set(), lastEvent: null, error: null};
	}

	snapshot(): ServicesSnapshot {
		return this.#snapshot;
	}

	subscribe(listener: (snapshot: ServicesSnapshot) => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** Reads once, then follows events until `signal` aborts. */
	async start(signal: AbortSignal, initial?: ServiceStatus[]): Promise<void> {
		if (initial) this.#publish({services: initial, updatedAt: this.#now()});
		if (this.#engine.recentEvents) {
			try {
				this.#events = await this.#engine.recentEvents(this.#loaded.name, this.#windowMs());
			} catch {
				// The live stream below still brings what happens from now on.
			}
		}
		if (!initial || this.#events.length > 0) await this.refresh();
		signal.addEventListener('abort', () => {
			clearTimeout(this.#timer);
			clearInterval(this.#poller);
			clearTimeout(this.#recheck);
			this.#stopped = true;
		});
		await this.#engine.watchEvents(
			this.#loaded.name,
			{
				onEvent: event => {
					if (tracked.has(event.action)) this.#events.push(event);
					// Published with the debounced re-read, not per event: a storm of hundreds of events a
					// second must not re-render the console hundreds of times a second.
					this.#lastEvent = event;
					this.#schedule();
				},
				onState: (state, error) => this.#onStreamState(state, error, signal),
			},
			signal,
		);
	}

	#onStreamState(state: EventStreamState, error: unknown, signal: AbortSignal): void {
		if (signal.aborted) return;
		if (state === 'live') {
			clearInterval(this.#poller);
			this.#poller = undefined;
			this.#streamDownAt = null;
			this.#publish({mode: 'live', error: null});
			// Resync: whatever happened while we were down is in the containers now.
			this.#schedule();
		} else {
			this.#publish({mode: 'polling', error: error instanceof Error ? error.message : error ? String(error) : null});
			this.#poller ??= setInterval(() => void this.refresh(), this.#pollMs);
			// Ask at once whether the Engine itself is gone (dockerd stopping), not just the stream.
			this.#streamDownAt ??= this.#now();
			this.#schedule();
		}
	}

	#schedule(): void {
		clearTimeout(this.#timer);
		this.#timer = setTimeout(() => void this.refresh(), this.#debounceMs);
	}

	/** Re-reads the project's containers; concurrent calls coalesce into one more read. */
	async refresh(): Promise<void> {
		if (this.#refreshing) {
			this.#again = true;
			return this.#refreshing;
		}
		this.#refreshing = (async () => {
			do {
				this.#again = false;
				try {
					const containers = await this.#engine.projectContainers(this.#loaded.name);
					await Promise.all(
						[...new Set(containers.map(c => c.imageId))]
							.filter(id => !this.#images.has(id))
							.map(async id => {
								const info = await this.#engine.image(id);
								if (info) this.#images.set(id, info);
							}),
					);
					const windowMs = this.#windowMs();
					this.#events = this.#events.filter(e => this.#now() - e.time <= windowMs);
					const services = buildServiceStatus(this.#loaded.config, containers, this.#images, this.#now(), {events: this.#events, windowMs});
					this.#publish({services, updatedAt: this.#now(), engineDown: null, lastEvent: this.#lastEvent ?? this.#snapshot.lastEvent});
					clearTimeout(this.#recheck);
					if (services.some(s => s.crashLoop) && !this.#stopped) {
						this.#recheck = setTimeout(() => void this.refresh(), loopRecheckMs);
						this.#recheck.unref();
					}
				} catch (error) {
					const message = error instanceof Error ? error.message : String(error);
					const since = this.#snapshot.engineDown?.since ?? this.#streamDownAt ?? this.#now();
					this.#publish({error: message, engineDown: {since, error: message}});
					// The event stream may still be up (socket access taken away): ask again until it answers.
					clearTimeout(this.#recheck);
					if (!this.#stopped) this.#recheck = setTimeout(() => void this.refresh(), this.#pollMs);
				}
			} while (this.#again);
		})().finally(() => {
			this.#refreshing = undefined;
		});
		return this.#refreshing;
	}

	#windowMs(): number {
		return this.#loaded.settings.status?.crashWindowMs ?? 5 * 60_000;
	}

	#publish(change: Partial<ServicesSnapshot>): void {
		const services = change.services ?? this.#snapshot.services;
		const rising = new Set(services.filter(s => s.crashLoop).map(s => s.service));
		this.#snapshot = {...this.#snapshot, ...change, rising};
		for (const listener of this.#listeners) listener(this.#snapshot);
	}
}
