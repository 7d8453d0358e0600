import {randomBytes} from 'node:crypto';
import {join} from 'node:path';
import {readDotEnv} from '../../engine/compose-project.js';
import type {ComposeCommands, ComposeConfig, ComposeProject} from '../../engine/types.js';

/** The tag variable assumed until the project's settings are read (they can name another). */
export const DEFAULT_VARIABLE = 'IMAGE_TAG';

/**
 * `docker compose config` with the tag variable set to a marker: the services whose image
 * carries the marker are the release services, and where it sits in the image is where the
 * tag goes. Replacing the marker by the variable's value gives the ordinary config.
 */
export interface MarkedConfig {
	variable: string;
	/** The variable's value as compose would take it: the environment, then the project's .env. */
	value: string;
	marker: string;
	config: Promise<ComposeConfig>;
}

/**
 * Starts that one compose call, with only light modules loaded: a headless rollback starts it
 * first thing and loads the rest of itself while compose parses. Null when the variable has
 * no value (compose's defaults then apply: the caller asks compose the ordinary way).
 */
export function startMarkedConfig(
	compose: Pick<ComposeCommands, 'configWith'>,
	project: ComposeProject,
	env: NodeJS.ProcessEnv = process.env,
): MarkedConfig | null {
	const value = env[DEFAULT_VARIABLE] ?? readDotEnv(join(project.workingDir, '.env'))[DEFAULT_VARIABLE];
	if (value === undefined) return null;
	const marker = `rcmarker${randomBytes(6).toString('hex')}`;
	const config = compose.configWith(project, {[DEFAULT_VARIABLE]: marker});
	// Awaited by the caller; a failure must not surface as unhandled before that.
	config.catch(() => {});
	return {variable: DEFAULT_VARIABLE, value, marker, config};
}
