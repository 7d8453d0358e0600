// A tiny Engine API proxy on a unix socket, for tests that change things on a shared engine.
// It records every request line (to prove, say, that no prune endpoint was ever called) and
// scopes what the CLI sees to the test's own objects: list responses are filtered to them,
// and a DELETE or prune of anything else is refused (403) and recorded. Other test files run
// against the same engine at the same time; this keeps a prune in one test from touching
// their containers, images and volumes.
import {mkdtemp, rm} from 'node:fs/promises';
import http from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export interface Scope {
	container(c: {id: string; name: string; labels: Record<string, string>}): boolean;
	image(id: string): boolean;
	volume(name: string): boolean;
}

export interface EngineProxy {
	/** DOCKER_HOST for the CLI. */
	dockerHost: string;
	/** "METHOD /path?query" of every request, in order. */
	requests: string[];
	/** Requests the proxy refused because they touched something outside the scope. */
	refused: string[];
	close(): Promise<void>;
}

const engineSocket = '/var/run/docker.sock';
const version = String.raw`(?:/v[\d.]+)?`;
const routes = {
	containersList: new RegExp(`^${version}/containers/json(?:\\?|$)`),
	imagesList: new RegExp(`^${version}/images/json(?:\\?|$)`),
	volumesList: new RegExp(`^${version}/volumes(?:\\?|$)`),
	df: new RegExp(`^${version}/system/df(?:\\?|$)`),
	deleteContainer: new RegExp(`^${version}/containers/([^/?]+)(?:\\?|$)`),
	deleteImage: new RegExp(`^${version}/images/([^?]+?)(?:\\?|$)`),
	deleteVolume: new RegExp(`^${version}/volumes/([^/?]+)(?:\\?|$)`),
	prune: /\/prune(?:\?|$)/,
};

const nameOf = (names: unknown) => String((names as string[] | undefined)?.[0] ?? '').replace(/^\//, '');

function filterBody(url: string, body: unknown, scope: Scope, known: Map<string, string>): unknown {
	const container = (c: Record<string, any>) => {
		const ok = scope.container({id: String(c['Id']), name: nameOf(c['Names']), labels: c['Labels'] ?? {}});
		if (ok) known.set(String(c['Id']), nameOf(c['Names']));
		return ok;
	};
	if (routes.containersList.test(url)) return (body as Array<Record<string, any>>).filter(container);
	if (routes.imagesList.test(url)) return (body as Array<Record<string, any>>).filter(i => scope.image(String(i['Id'])));
	if (routes.volumesList.test(url)) {
		const b = body as {Volumes?: Array<Record<string, any>>};
		return {...b, Volumes: (b.Volumes ?? []).filter(v => scope.volume(String(v['Name'])))};
	}
	if (routes.df.test(url)) {
		const b = body as Record<string, any>;
		return {
			...b,
			Images: (b['Images'] ?? []).filter((i: Record<string, any>) => scope.image(String(i['Id']))),
			Containers: (b['Containers'] ?? []).filter(container),
			Volumes: (b['Volumes'] ?? []).filter((v: Record<string, any>) => scope.volume(String(v['Name']))),
		};
	}
	return body;
}

function allowedChange(method: string, url: string, scope: Scope, known: Map<string, string>): boolean {
	if (routes.prune.test(url)) return false;
	if (method !== 'DELETE') return true;
	const volume = routes.deleteVolume.exec(url);
	if (volume) return scope.volume(decodeURIComponent(volume[1]!));
	const container = routes.deleteContainer.exec(url);
	if (container) {
		const id = decodeURIComponent(container[1]!);
		const found = [...known].find(([full, name]) => full.startsWith(id) || name === id);
		return Boolean(found);
	}
	const image = routes.deleteImage.exec(url);
	if (image) return scope.image(decodeURIComponent(image[1]!));
	return false;
}

export async function startEngineProxy(scope: Scope): Promise<EngineProxy> {
	const dir = await mkdtemp(join(tmpdir(), 'rc-engine-proxy-'));
	const socket = join(dir, 'docker.sock');
	const requests: string[] = [];
	const refused: string[] = [];
	// Containers the CLI was shown: only those may be removed.
	const known = new Map<string, string>();

	const server = http.createServer((req, res) => {
		const method = req.method ?? 'GET';
		const url = req.url ?? '/';
		requests.push(`${method} ${url}`);
		if (!allowedChange(method, url, scope, known)) {
			refused.push(`${method} ${url}`);
			req.resume();
			res.writeHead(403, {'content-type': 'application/json'}).end(JSON.stringify({message: `test proxy: ${method} ${url} is outside this test's scope`}));
			return;
		}
		const filtered = method === 'GET' && [routes.containersList, routes.imagesList, routes.volumesList, routes.df].some(r => r.test(url));
		const upstream = http.request({socketPath: engineSocket, method, path: url, headers: req.headers}, response => {
			if (!filtered || response.statusCode !== 200) {
				res.writeHead(response.statusCode ?? 502, response.headers);
				response.pipe(res);
				return;
			}
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => {
				const body = JSON.stringify(filterBody(url, JSON.parse(Buffer.concat(chunks).toString('utf8')), scope, known));
				const headers = {...response.headers, 'content-length': String(Buffer.byteLength(body))};
				delete headers['transfer-encoding'];
				res.writeHead(200, headers).end(body);
			});
		});
		upstream.on('error', error => {
			res.writeHead(502).end(JSON.stringify({message: `test proxy: ${error.message}`}));
		});
		req.pipe(upstream);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(socket, resolve);
	});
	return {
		dockerHost: `unix://${socket}`,
		requests,
		refused,
		async close() {
			server.closeAllConnections();
			await new Promise(resolve => server.close(resolve));
			await rm(dir, {recursive: true, force: true});
		},
	};
}
