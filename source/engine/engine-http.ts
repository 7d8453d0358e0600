// The Engine over node's own HTTP, where a local socket or a plain tcp:// address reaches it:
// what `status`, a rollback and `capture` ask (status-engine.ts and the engines built on it),
// and what engine-body-stream.ts reads log bodies with. TLS and ssh:// engines keep dockerode.
import {engineAddress} from './known-errors.js';

export type Target = {socketPath: string} | {host: string; port: number};

/** Where a plain HTTP request can reach the Engine; null when it needs TLS, ssh or anything else. */
export function plainTarget(env: NodeJS.ProcessEnv): Target | null {
	if (env['DOCKER_TLS_VERIFY'] || env['DOCKER_CERT_PATH']) return null;
	const address = engineAddress(env);
	if (address.startsWith('unix://')) return {socketPath: address.slice('unix://'.length)};
	const tcp = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(address);
	return tcp ? {host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2])} : null;
}

export class EngineHttpError extends Error {
	constructor(
		readonly statusCode: number,
		message: string,
	) {
		super(message);
	}
}

// Not `import … from 'node:http'`: an ES import of a builtin reads every export, and
// http.WebSocket's getter loads undici (70–200 ms here); the CommonJS object does not.
export const http = () => process.getBuiltinModule('node:http');

export function request(target: Target, path: string, signal?: AbortSignal): Promise<string> {
	return new Promise((resolve, reject) => {
		// A servername given: else the agent works one out from the Host header with net.isIP, whose
		// first call compiles the IPv6 pattern (3–30 ms under load) though plain HTTP never uses it.
		const options = {...target, path, method: 'GET', headers: {host: 'docker'}, servername: 'docker', ...(signal ? {signal} : {})};
		const req = http().request(options, response => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('error', reject);
			response.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				const status = response.statusCode ?? 0;
				if (status >= 200 && status < 300) return resolve(text);
				let message = text.trim();
				try {
					message = (JSON.parse(text) as {message?: string}).message ?? message;
				} catch {
					// Not JSON: the text as it came.
				}
				reject(new EngineHttpError(status, `(HTTP code ${status}) ${message}`));
			});
		});
		req.on('error', reject);
		req.end();
	});
}

export const query = (params: Record<string, unknown>) =>
	Object.entries(params)
		.map(([key, value]) => `${key}=${encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value))}`)
		.join('&');

