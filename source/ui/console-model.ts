import type {Settings} from '../incident/settings.js';
import type {LogStore} from '../incident/log-store.js';
import type {ServicesSnapshot} from '../incident/services-feed.js';
import type {StepId, TimelineEvent} from '../incident/timeline.js';
import type {HealthProbe} from '../incident/health.js';

/**
 * Everything the console shows and can ask for, as domain objects: the UI never talks to
 * the engine itself. commands/console.ts builds it from the real engine; tests build it
 * from an in-memory one.
 */
export interface ConsoleModel {
	project: {name: string; workingDir: string};
	host: string;
	engine: {version: string; address: string};
	incident: {id: string; dir: string; openedAt: string; resumed: boolean};
	readOnly: boolean;
	/** Why the console is read-only, when it is not the operator's choice. */
	readOnlyReason: string | null;
	settings: Settings;
	services: {snapshot(): ServicesSnapshot; subscribe(listener: (snapshot: ServicesSnapshot) => void): () => void};
	logs: LogStore;
	timeline: {
		append(step: StepId | null, type: string, data: Record<string, unknown>): Promise<TimelineEvent>;
		events(): TimelineEvent[];
		readonly file: string;
		readonly fellBack: boolean;
	};
	/** Probes every configured health URL once. */
	probeHealth(signal?: AbortSignal): Promise<HealthProbe[]>;
	/** Writes text under the incident directory (mode 0600); returns the path. */
	saveFile(name: string, text: string): Promise<string>;
}
