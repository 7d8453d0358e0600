import type Conf from 'conf';
import {ConsoleError} from '../errors.js';

/** The operator's own settings (not the project's): ~/.config/rollback-console/config.json. */
export interface OperatorSettings {
	/** Lines kept per service in the logs pane. */
	logBufferLines: number;
	/** Lines of backlog fetched when the console starts following a service. */
	logTailLines: number;
}

const defaults: OperatorSettings = {logBufferLines: 5000, logTailLines: 200};

const limits: Record<keyof OperatorSettings, [number, number]> = {
	logBufferLines: [100, 1_000_000],
	logTailLines: [0, 100_000],
};

/** Async so the console can read it while the engine answers: loading conf takes ~100 ms. */
export async function readOperatorSettings(options: {cwd?: string} = {}): Promise<OperatorSettings> {
	const {default: ConfStore} = await import('conf');
	let store: Conf<Partial<OperatorSettings>>;
	try {
		store = new ConfStore<Partial<OperatorSettings>>({projectName: 'rollback-console', projectSuffix: '', ...(options.cwd ? {cwd: options.cwd} : {})});
	} catch (error) {
		throw new ConsoleError(`cannot read the operator settings: ${(error as Error).message}`);
	}
	const settings = {...defaults};
	for (const key of Object.keys(defaults) as Array<keyof OperatorSettings>) {
		const value = store.get(key);
		if (value === undefined) continue;
		const [min, max] = limits[key];
		if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
			throw new ConsoleError(`${store.path}: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
		}
		settings[key] = value;
	}
	return settings;
}
