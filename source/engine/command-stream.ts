import {spawn} from 'node:child_process';
import {ConsoleError} from '../errors.js';
import type {ComposeRun} from './types.js';

/**
 * Runs one command, handing on its output as it arrives and keeping it for the caller.
 * Only node builtins: the rollback worker starts its first compose command with this before
 * it loads anything else.
 */
export function streamCommand(
	argv: readonly string[],
	options: {cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal; onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void},
): Promise<ComposeRun> {
	const [bin, ...rest] = argv;
	const start = performance.now();
	return new Promise((resolve, reject) => {
		const child = spawn(bin!, rest, {
			cwd: options.cwd,
			env: options.env,
			stdio: ['ignore', 'pipe', 'pipe'],
			...(options.signal ? {signal: options.signal} : {}),
		});
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
			stdout += chunk;
			options.onOutput?.('stdout', chunk);
		});
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
			stderr += chunk;
			options.onOutput?.('stderr', chunk);
		});
		child.once('error', error => {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
				reject(new ConsoleError(`${bin} is not there: install Docker (Debian: docker.io) and docker compose v2`));
			} else reject(error);
		});
		child.once('close', (code, signal) => {
			resolve({argv: [...argv], exitCode: code ?? (signal ? 128 : 1), stdout, stderr, ms: Math.round(performance.now() - start)});
		});
	});
}
