import type {ContainerEvent, Engine, EventStreamState, ImageInfo} from '../engine/types.js';
import {buildServiceStatus, type ServiceStatus} from './service-status.js';
import type {LoadedProject} from './status.js';

export type FeedMode = 'starting' | 'live' | 'polling';

export interface ServicesSnapshot {
	services: ServiceStatus[];
	/** live: driven by the Engine's event stream; polling: the stream is down, we poll. */
	mode: FeedMode;
	updatedAt: number;
	/** Services whose restart count went up in the last minute. */
	rising: ReadonlySet<string>;
	/** The last event seen, for the header ("web died (exit 2) 3s ago"). */
	lastEvent: ContainerEvent | null;
	error: string | null;
}

const risingWindowMs = 60_000;

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
	readonly #lastRise = new Map<string, number>();
	readonly #now: () => number;
	readonly #debounceMs: number;
	readonly #pollMs: number;
	#snapshot: ServicesSnapshot;
	#timer: NodeJS.Timeout | undefined;
	#poller: NodeJS.Timeout | undefined;
	#refreshing: Promise<void> | undefined;
	#again = false;

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
		else await this.refresh();
		signal.addEventListener('abort', () => {
			clearTimeout(this.#timer);
			clearInterval(this.#poller);
		});
		await this.#engine.watchEvents(
			this.#loaded.name,
			{
				onEvent: event => {
					this.#publish({lastEvent: event});
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
			this.#publish({mode: 'live', error: null});
			// Resync: whatever happened while we were down is in the containers now.
			this.#schedule();
		} else {
			this.#publish({mode: 'polling', error: error instanceof Error ? error.message : error ? String(error) : null});
			this.#poller ??= setInterval(() => void this.refresh(), this.#pollMs);
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
					this.#publish({services: buildServiceStatus(this.#loaded.config, containers, this.#images, this.#now()), updatedAt: this.#now()});
				} catch (error) {
					this.#publish({error: error instanceof Error ? error.message : String(error)});
				}
			} while (this.#again);
		})().finally(() => {
			this.#refreshing = undefined;
		});
		return this.#refreshing;
	}

	#publish(change: Partial<ServicesSnapshot>): void {
		const now = this.#now();
		if (change.services) {
			const before = new Map(this.#snapshot.services.map(s => [s.service, s.restartCount]));
			for (const s of change.services) {
				const previous = before.get(s.service);
				if (previous !== undefined && s.restartCount > previous) this.#lastRise.set(s.service, now);
			}
		}
		const rising = new Set([...this.#lastRise].filter(([, at]) => now - at < risingWindowMs).map(([service]) => service));
		this.#snapshot = {...this.#snapshot, ...change, rising};
		for (const listener of this.#listeners) listener(this.#snapshot);
	}
}
