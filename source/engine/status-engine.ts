// `status` asks the Engine four plain questions. Loading dockerode for them costs more than
// compose's whole `ps` (~130 ms of module loading on a small box), so on a local socket or a
// plain tcp:// address they go straight over HTTP with node's own client. TLS and ssh://
// engines keep dockerode (DockerEngine), which knows their set-up.
import {orNotFound, serviceContainers, toImageInfo} from './engine-records.js';
import {assertSupportedApi, engineAddress, explainEngineError} from './known-errors.js';
import {eventsFromText, recentEventsQuery} from './recent-events.js';
import type {DockerEngine} from './docker-engine.js';
import type {ContainerEvent, ContainerInfo, Engine, EngineVersion, ImageInfo} from './types.js';

export type StatusEngine = Pick<Engine, 'address' | 'version' | 'projectContainers' | 'image' | 'recentEvents'>;

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
const http = () => process.getBuiltinModule('node:http');

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

export class HttpStatusEngine implements StatusEngine {
	constructor(
		readonly address: string,
		readonly target: Target,
	) {}

	/** A GET's body as text: an abort throws the signal's reason, anything else is explained in one line. */
	async text(path: string, signal?: AbortSignal): Promise<string> {
		try {
			return await request(this.target, path, signal);
		} catch (error) {
			if (signal?.aborted) throw signal.reason ?? error;
			throw explainEngineError(error, this.address);
		}
	}

	async json<T>(path: string, signal?: AbortSignal): Promise<T> {
		return JSON.parse(await this.text(path, signal)) as T;
	}

	async version(): Promise<EngineVersion> {
		const v = await this.json<{Version: string; ApiVersion: string; Os: string; Arch: string; KernelVersion: string}>('/version');
		assertSupportedApi(v.ApiVersion, this.address);
		return {version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch, kernel: v.KernelVersion};
	}

	async projectContainers(project: string): Promise<ContainerInfo[]> {
		const list = await this.json<Array<{Id: string; Labels: Record<string, string>}>>(
			`/containers/json?${query({all: 'true', filters: {label: [`com.docker.compose.project=${project}`]}})}`,
		);
		return serviceContainers(list, id => this.json(`/containers/${id}/json`));
	}

	async image(reference: string): Promise<ImageInfo | null> {
		const raw = await orNotFound(() => this.json<Parameters<typeof toImageInfo>[0]>(`/images/${encodeURIComponent(reference)}/json`));
		return raw ? toImageInfo(raw) : null;
	}

	async recentEvents(project: string, sinceMs: number, signal?: AbortSignal): Promise<ContainerEvent[]> {
		return eventsFromText(await this.text(`/events?${query(recentEventsQuery(project, sinceMs))}`, signal));
	}
}

/** `make`'s engine where plain HTTP reaches the Engine, else dockerode (TLS, ssh://), which knows their set-up. */
export async function plainOrDockerode<T>(make: (address: string, target: Target) => T, env: NodeJS.ProcessEnv): Promise<T | DockerEngine> {
	const target = plainTarget(env);
	if (target) return make(engineAddress(env), target);
	const {DockerEngine} = await import('./docker-engine.js');
	return DockerEngine.connect(env);
}

/** The Engine for `status`. */
export const connectStatusEngine = (env: NodeJS.ProcessEnv = process.env): Promise<StatusEngine> =>
	plainOrDockerode((address, target) => new HttpStatusEngine(address, target), env);
