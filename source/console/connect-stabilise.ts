import {ComposeCli} from '../engine/compose-cli.js';
import {GithubClient} from '../engine/github-releases.js';
import {RegistryClient} from '../engine/registry.js';
import type {StabiliseOutside} from '../incident/stabilise/prepare.js';

/** The real engine, compose and registry for rollback, deploy, history and the console's Stabilise step. */
export function connectStabilise(
	env: NodeJS.ProcessEnv = process.env,
	compose = new ComposeCli(env),
	// Loaded only when no engine is given: a rollback passes its own plain-HTTP one (release-engine.ts).
	engine: StabiliseOutside['engine'] = import('../engine/docker-engine.js').then(m => m.DockerEngine.connect(env)),
): StabiliseOutside & {compose: ComposeCli} {
	return {compose, engine, registry: new RegistryClient({env}), github: new GithubClient({env})};
}
