import type Docker from 'dockerode';
import {engineAddress, explainEngineError} from './known-errors.js';
import {skipUnusedModules} from './skip-unused-modules.js';

/**
 * dockerode for this environment (docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH itself), loaded on first use without the gRPC and protobuf it never needs.
 */
export async function openDockerode(env: NodeJS.ProcessEnv = process.env): Promise<{docker: Docker; address: string}> {
	skipUnusedModules(env);
	const {default: Dockerode} = await import('dockerode');
	return {docker: new Dockerode(), address: engineAddress(env)};
}

/** One Engine call: a known failure (socket missing, permission denied, …) becomes one sentence. */
export async function engineCall<T>(address: string, work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		throw explainEngineError(error, address);
	}
}
