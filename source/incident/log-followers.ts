import type {Engine} from '../engine/types.js';
import type {LogStore} from './log-store.js';

const retryMs = 1000;

/**
 * Follows every listed service's logs into the store until `signal` aborts, across
 * restarts (the engine layer re-attaches) and across stream errors (we retry and say so).
 */
export function followLogs(
	engine: Engine,
	project: string,
	services: readonly string[],
	store: LogStore,
	options: {tail: number; timestamps?: boolean},
	signal: AbortSignal,
): Promise<void[]> {
	return Promise.all(
		services.map(async service => {
			let first = true;
			while (!signal.aborted) {
				try {
					// After a failure, ask only for new lines: the ring already holds the old ones.
					const tail = first ? options.tail : 0;
					first = false;
					for await (const batch of engine.followServiceLogs(project, service, {tail, timestamps: true}, signal)) {
						store.append(service, batch);
					}
				} catch (error) {
					if (signal.aborted) return;
					store.append(service, [
						{stream: 'stderr', time: new Date().toISOString(), text: `── log stream failed: ${(error as Error).message}; retrying ──`, marker: true},
					]);
				}
				if (!signal.aborted) await new Promise(resolve => setTimeout(resolve, retryMs));
			}
		}),
	);
}
