import {ConsoleError, isConsoleError} from '../errors.js';

/** The oldest Engine API we support: Docker 20.10. */
export const minimumApiVersion = '1.41';

export function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
	return env['DOCKER_HOST'] || 'unix:///var/run/docker.sock';
}

export function compareApiVersions(a: string, b: string): number {
	const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
	const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
	return aMajor - bMajor || aMinor - bMinor;
}

export function assertSupportedApi(apiVersion: string, address: string): void {
	if (compareApiVersions(apiVersion, minimumApiVersion) < 0) {
		throw new ConsoleError(
			`the Docker Engine at ${address} speaks API ${apiVersion}; rollback-console needs ${minimumApiVersion} or newer (Docker 20.10+): upgrade Docker`,
		);
	}
}

/**
 * The one place that turns a failure to talk to the Engine into one sentence the
 * operator can act on. Unknown errors pass through unchanged.
 */
export function explainEngineError(error: unknown, address: string): unknown {
	if (isConsoleError(error)) return error;
	const code = (error as NodeJS.ErrnoException | undefined)?.code;
	switch (code) {
		case 'ENOENT':
			return new ConsoleError(`no Docker Engine at ${address}: the socket does not exist (is dockerd running? is DOCKER_HOST right?)`);
		case 'ECONNREFUSED':
			return new ConsoleError(`no Docker Engine at ${address}: connection refused (is dockerd running? is DOCKER_HOST right?)`);
		case 'EACCES':
		case 'EPERM':
			return new ConsoleError(
				`permission denied on ${address}: add the user to the docker group (sudo usermod -aG docker $USER, then log in again) or use sudo`,
			);
		case 'ENOTFOUND':
		case 'EAI_AGAIN':
		case 'EHOSTUNREACH':
		case 'ETIMEDOUT':
			return new ConsoleError(`cannot reach the Docker Engine at ${address} (${code}): check DOCKER_HOST`);
		default:
			return error;
	}
}
