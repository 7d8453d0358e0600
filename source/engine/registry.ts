import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ConsoleError} from '../errors.js';
import {parseImageRef} from './image-ref.js';
import {networkCodes} from './network-codes.js';

/**
 * The Registry HTTP API v2, read-only: a repository's tags and a manifest's digest. Speaks
 * the bearer-token flow (401 + `WWW-Authenticate: Bearer realm=…`) and basic auth, with the
 * credentials `docker login` stored in ~/.docker/config.json.
 */

export type RegistryProblem = 'unreachable' | 'unauthorized' | 'error';

/** The registry could not be asked: it does not answer, refuses our credentials, or errs. */
export class RegistryError extends ConsoleError {
	constructor(
		message: string,
		readonly problem: RegistryProblem,
		readonly registry: string,
	) {
		super(message);
		this.name = 'RegistryError';
	}
}

export const isRegistryError = (error: unknown): error is RegistryError => error instanceof RegistryError;

export interface Registry {
	/** Every tag of the repository (`registry/name`, as in an image reference). */
	tags(repository: string): Promise<string[]>;
	/** The manifest digest of `repository:reference` (a tag or `sha256:…`); null when the registry has none. */
	digest(repository: string, reference: string): Promise<string | null>;
}

export const MANIFEST_ACCEPT = [
	'application/vnd.docker.distribution.manifest.v2+json',
	'application/vnd.docker.distribution.manifest.list.v2+json',
	'application/vnd.oci.image.manifest.v1+json',
	'application/vnd.oci.image.index.v1+json',
].join(', ');


/**
 * Why no answer came, in a few words. (http-probe.ts has the same for health URLs; it is not
 * imported here because it loads ky, and a rollback's start-up is its overhead.)
 */
function whyNoAnswer(error: unknown, timeoutMs: number): string {
	if ((error as Error | undefined)?.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
	for (let current = error, depth = 0; current && depth < 5; depth++) {
		const {code, cause, errors} = current as {code?: unknown; cause?: unknown; errors?: unknown};
		if (typeof code === 'string') return networkCodes[code] ?? code;
		current = Array.isArray(errors) && errors.length > 0 ? errors[0] : cause;
	}
	return error instanceof Error ? error.message : String(error);
}

const dockerHub = {host: 'registry-1.docker.io', credentialKey: 'https://index.docker.io/v1/'};

const isLoopback = (host: string) => {
	const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
	return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
};

export interface Endpoint {
	/** `registry/name` as written in image references. */
	registry: string;
	baseUrl: string;
	/** The repository path in the API: Docker Hub's official images live under library/. */
	name: string;
	credentialKey: string;
}

/** Where the API of `repository`'s registry is. Like dockerd, it speaks plain HTTP only to loopback. */
export function endpointFor(repository: string): Endpoint {
	const ref = parseImageRef(repository);
	if (ref.registry === null || ref.registry === 'docker.io' || ref.registry === 'index.docker.io') {
		const name = ref.repository.includes('/') ? ref.repository : `library/${ref.repository}`;
		return {registry: 'docker.io', baseUrl: `https://${dockerHub.host}`, name, credentialKey: dockerHub.credentialKey};
	}
	const scheme = isLoopback(ref.registry) ? 'http' : 'https';
	return {registry: ref.registry, baseUrl: `${scheme}://${ref.registry}`, name: ref.repository, credentialKey: ref.registry};
}

export interface Credentials {
	username: string;
	password: string;
}

/** The credentials `docker login` saved for a registry (`auths` in config.json), if any. */
export function dockerCredentials(credentialKey: string, env: NodeJS.ProcessEnv = process.env): Credentials | null {
	const dir = env['DOCKER_CONFIG'] || path.join(env['HOME'] || os.homedir(), '.docker');
	let config: {auths?: Record<string, {auth?: string; username?: string; password?: string}>};
	try {
		config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
	} catch {
		return null;
	}
	const auths = config.auths ?? {};
	const host = credentialKey.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
	const entry =
		auths[credentialKey] ?? Object.entries(auths).find(([key]) => key.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === host)?.[1];
	if (!entry) return null;
	if (entry.username && entry.password) return {username: entry.username, password: entry.password};
	if (!entry.auth) return null;
	const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	return colon > 0 ? {username: decoded.slice(0, colon), password: decoded.slice(colon + 1)} : null;
}

export interface Challenge {
	scheme: string;
	params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string | null): Challenge | null {
	if (!header) return null;
	const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
	if (!match) return null;
	const params: Record<string, string> = {};
	for (const [, key, quoted, bare] of match[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
		params[key!.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
	}
	return {scheme: match[1]!.toLowerCase(), params};
}

const basic = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

export interface RegistryOptions {
	env?: NodeJS.ProcessEnv;
	/** Per request; a registry that does not answer in time counts as unreachable. */
	timeoutMs?: number;
}

/** What the client reads of an answer: the whole body (manifests and tag lists are small). */
interface RegistryResponse {
	status: number;
	ok: boolean;
	headers: {get(name: string): string | null};
	body: Buffer;
}

// Node's own http/https, not fetch: the first fetch loads undici (~60–80 ms of CPU here, on the
// way from a rollback's start to its plan). `getBuiltinModule`, not an ES import: see engine-http.ts.
const transport = (url: URL) => process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http') as typeof import('node:http');

/** One request; redirects followed (at most 5, credentials only to the same origin), like fetch. */
function send(url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, timeoutMs: number, hops = 0): Promise<RegistryResponse> {
	return new Promise((resolve, reject) => {
		const req = transport(url).request(url, {method, headers}, response => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('error', reject);
			response.on('end', () => {
				clearTimeout(timer);
				const status = response.statusCode ?? 0;
				const location = response.headers.location;
				if ([301, 302, 303, 307, 308].includes(status) && location && hops < 5) {
					const next = new URL(location, url);
					const {Authorization: _dropped, ...rest} = headers;
					resolve(send(next, status === 303 ? 'GET' : method, next.origin === url.origin ? headers : rest, timeoutMs, hops + 1));
					return;
				}
				resolve({
					status,
					ok: status >= 200 && status < 300,
					headers: {get: name => [response.headers[name.toLowerCase()] ?? null].flat()[0] ?? null},
					body: Buffer.concat(chunks),
				});
			});
		});
		const timer = setTimeout(() => req.destroy(Object.assign(new Error(`timeout after ${timeoutMs} ms`), {name: 'TimeoutError'})), timeoutMs);
		req.on('error', error => {
			clearTimeout(timer);
			reject(error);
		});
		req.end();
	});
}

const json = (response: RegistryResponse) => JSON.parse(response.body.toString('utf8')) as unknown;

export class RegistryClient implements Registry {
	readonly #env: NodeJS.ProcessEnv;
	readonly #timeoutMs: number;
	/** Authorization header per registry and scope, once a token was obtained. */
	readonly #auth = new Map<string, string>();

	constructor({env = process.env, timeoutMs = 5000}: RegistryOptions = {}) {
		this.#env = env;
		this.#timeoutMs = timeoutMs;
	}

	async tags(repository: string): Promise<string[]> {
		const endpoint = endpointFor(repository);
		const tags: string[] = [];
		let next: string | null = `/v2/${endpoint.name}/tags/list?n=1000`;
		for (let page = 0; next && page < 50; page++) {
			const response = await this.#request(endpoint, 'get', next, 'application/json');
			if (response.status === 404) return [];
			if (!response.ok) throw this.#httpError(endpoint, response, `list the tags of ${endpoint.name}`);
			const body = json(response) as {tags?: string[] | null};
			tags.push(...(body.tags ?? []));
			// Pagination: `Link: </v2/…/tags/list?last=…&n=…>; rel="next"`.
			next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
		}
		return tags;
	}

	async digest(repository: string, reference: string): Promise<string | null> {
		const endpoint = endpointFor(repository);
		const url = `/v2/${endpoint.name}/manifests/${encodeURIComponent(reference)}`;
		const head = await this.#request(endpoint, 'head', url, MANIFEST_ACCEPT);
		if (head.status === 404) return null;
		if (!head.ok) throw this.#httpError(endpoint, head, `read the manifest of ${endpoint.name}:${reference}`);
		const digest = head.headers.get('docker-content-digest');
		if (digest) return digest;
		// Some registries omit the header on HEAD: the digest is the manifest's own sha256.
		const get = await this.#request(endpoint, 'get', url, MANIFEST_ACCEPT);
		if (get.status === 404) return null;
		if (!get.ok) throw this.#httpError(endpoint, get, `read the manifest of ${endpoint.name}:${reference}`);
		return get.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(get.body).digest('hex')}`;
	}

	#httpError(endpoint: Endpoint, response: RegistryResponse, what: string): RegistryError {
		if (response.status === 401 || response.status === 403) {
			return new RegistryError(
				`registry ${endpoint.registry} refused to ${what} (HTTP ${response.status}): docker login ${endpoint.registry}`,
				'unauthorized',
				endpoint.registry,
			);
		}
		return new RegistryError(`registry ${endpoint.registry} could not ${what}: HTTP ${response.status}`, 'error', endpoint.registry);
	}

	async #fetch(endpoint: Endpoint, method: 'get' | 'head', url: string, headers: Record<string, string>): Promise<RegistryResponse> {
		try {
			return await send(new URL(url.startsWith('http') ? url : `${endpoint.baseUrl}${url}`), method === 'get' ? 'GET' : 'HEAD', headers, this.#timeoutMs);
		} catch (error) {
			throw new RegistryError(
				`registry ${endpoint.registry} does not answer (${whyNoAnswer(error, this.#timeoutMs)})`,
				'unreachable',
				endpoint.registry,
			);
		}
	}

	async #request(endpoint: Endpoint, method: 'get' | 'head', url: string, accept: string): Promise<RegistryResponse> {
		const key = `${endpoint.registry} repository:${endpoint.name}:pull`;
		const headers: Record<string, string> = {Accept: accept};
		const known = this.#auth.get(key);
		if (known) headers['Authorization'] = known;
		const response = await this.#fetch(endpoint, method, url, headers);
		if (response.status !== 401) return response;
		const challenge = parseChallenge(response.headers.get('www-authenticate'));
		const credentials = dockerCredentials(endpoint.credentialKey, this.#env);
		let authorization: string | null = null;
		if (challenge?.scheme === 'bearer' && challenge.params['realm']) {
			authorization = await this.#token(endpoint, challenge, credentials);
		} else if (challenge?.scheme === 'basic' && credentials) {
			authorization = basic(credentials);
		}
		if (!authorization) return response;
		this.#auth.set(key, authorization);
		return this.#fetch(endpoint, method, url, {...headers, Authorization: authorization});
	}

	/** The bearer-token flow: ask the realm for a pull token for this repository. */
	async #token(endpoint: Endpoint, challenge: Challenge, credentials: Credentials | null): Promise<string> {
		const realm = new URL(challenge.params['realm']!);
		if (challenge.params['service']) realm.searchParams.set('service', challenge.params['service']);
		realm.searchParams.set('scope', challenge.params['scope'] ?? `repository:${endpoint.name}:pull`);
		const headers: Record<string, string> = credentials ? {Authorization: basic(credentials)} : {};
		const response = await this.#fetch(endpoint, 'get', realm.href, headers);
		if (!response.ok) {
			throw new RegistryError(
				`registry ${endpoint.registry}: the token service ${realm.origin} refused a pull token (HTTP ${response.status})${credentials ? '' : ': docker login ' + endpoint.registry}`,
				'unauthorized',
				endpoint.registry,
			);
		}
		const body = json(response) as {token?: string; access_token?: string};
		const token = body.token ?? body.access_token;
		if (!token) throw new RegistryError(`registry ${endpoint.registry}: the token service sent no token`, 'unauthorized', endpoint.registry);
		return `Bearer ${token}`;
	}
}
