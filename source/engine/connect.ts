import {ComposeCli} from './compose-cli.js';
import {DockerEngine} from './docker-engine.js';
import type {Compose, Engine} from './types.js';

export interface Outside {
	/** Still connecting: the engine client loads while compose already runs. */
	engine: Promise<Engine>;
	compose: ComposeCli & Compose;
}

/** The real implementations of the engine interfaces, for the CLI and integration tests. */
export function connect(env: NodeJS.ProcessEnv = process.env): Outside {
	return {engine: DockerEngine.connect(env), compose: new ComposeCli(env)};
}
