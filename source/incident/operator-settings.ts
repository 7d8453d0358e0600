import {mkdirSync, readFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

/** Where conf keeps the file for projectName 'rollback-console' (env-paths' Linux config dir). */
export function operatorSettingsFile(options: {cwd?: string} = {}, env: NodeJS.ProcessEnv = process.env): string {
	const dir = options.cwd ?? path.join(env['XDG_CONFIG_HOME'] || path.join(os.homedir(), '.config'), 'rollback-console');
	return path.join(dir, 'config.json');
}

/**
 * conf's file, read as conf reads it (JSON; none yet: defaults, and its directory made for the
 * operator to put one in), without loading conf: its ajv and semver are ~150 modules, a
 * large part of the console's start-up.
 */
export async function readOperatorSettings(options: {cwd?: string} = {}): Promise<OperatorSettings> {
	const file = operatorSettingsFile(options);
	let stored: Partial<Record<keyof OperatorSettings, unknown>> = {};
	try {
		stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
			throw new ConsoleError(`cannot read the operator settings: ${file}: ${(error as Error).message}`);
		}
		try {
			mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
		} catch {
			// Only a convenience: the defaults stand.
		}
	}
	if (!stored || typeof stored !== 'object' || Array.isArray(stored)) {
		throw new ConsoleError(`cannot read the operator settings: ${file}: not a JSON object`);
	}
	const settings = {...defaults};
	for (const key of Object.keys(defaults) as Array<keyof OperatorSettings>) {
		const value = stored[key];
		if (value === undefined) continue;
		const [min, max] = limits[key];
		if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
			throw new ConsoleError(`${file}: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
		}
		settings[key] = value;
	}
	return settings;
}
