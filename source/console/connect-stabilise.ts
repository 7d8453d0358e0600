import {ComposeCli} from '../engine/compose-cli.js';
import {DockerEngine} from '../engine/docker-engine.js';
import {GithubClient} from '../engine/github-releases.js';
import {preloadRegistry, RegistryClient} from '../engine/registry.js';
import type {StabiliseOutside} from '../incident/stabilise/prepare.js';

/** The real engine, compose and registry for rollback, deploy, history and the console's Stabilise step. */
export function connectStabilise(
	env: NodeJS.ProcessEnv = process.env,
	compose = new ComposeCli(env),
	engine: StabiliseOutside['engine'] = DockerEngine.connect(env),
): StabiliseOutside & {compose: ComposeCli} {
	preloadRegistry();
	return {compose, engine, registry: new RegistryClient({env}), github: new GithubClient({env})};
}
