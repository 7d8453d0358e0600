// The console draws its first frame from the plain-HTTP status engine; dockerode (about 100 ms
// of module loading on a small box, on the same thread as the first render) is needed only
// for the event stream, the log followers and the steps. This engine stands in for it from
// the start: every call waits until `start()` has been called and dockerode has loaded.
import type {DockerEngine} from './docker-engine.js';

// The methods that hand back an async iterable at once rather than a promise.
const iterables = new Set<PropertyKey>(['followServiceLogs', 'containerLog', 'containerLogSince']);

export interface DeferredEngine {
	engine: DockerEngine;
	/** Begins loading the real engine (once; later calls do nothing). */
	start(): void;
	/** The real engine, once started and loaded. */
	ready: Promise<DockerEngine>;
}

export function deferredEngine(address: string, load: () => Promise<DockerEngine>): DeferredEngine {
	let begin!: () => void;
	const started = new Promise<void>(resolve => (begin = resolve));
	const ready = started.then(load);
	// A failed load reaches every caller through its own call; never unhandled here.
	ready.catch(() => {});
	const engine = new Proxy({} as DockerEngine, {
		get(_, key) {
			if (key === 'address') return address;
			// Not a thenable: `await engine` must give the engine itself.
			if (key === 'then' || typeof key === 'symbol') return undefined;
			if (iterables.has(key)) {
				return async function* (...args: unknown[]) {
					const real = (await ready) as unknown as Record<PropertyKey, (...a: unknown[]) => AsyncIterable<unknown>>;
					yield* real[key]!(...args);
				};
			}
			return async (...args: unknown[]) => {
				const real = (await ready) as unknown as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>;
				return real[key]!(...args);
			};
		},
		has: (_, key) => key !== 'then',
	});
	return {engine, start: () => begin(), ready};
}
