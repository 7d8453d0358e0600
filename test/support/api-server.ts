// A small HTTP service on 127.0.0.1 for Verify's smoke checks and flows: register → login →
// me (a bearer token carried over), create → list → delete a project, an internal endpoint
// behind the operator's token, a health URL that can be made to fail or never answer.
import http from 'node:http';
import type {AddressInfo} from 'node:net';

export interface ApiServer {
	base: string;
	port: number;
	/** The path that answers 500 instead (e.g. '/projects' breaks the list step). */
	broken: Set<string>;
	health: {status: number};
	/** Projects created and not deleted: what a flow left behind. */
	projects: Map<string, {name: string; owner: string}>;
	requests: string[];
	close(): Promise<void>;
}

const readJson = (request: http.IncomingMessage) =>
	new Promise<Record<string, unknown>>(resolve => {
		let text = '';
		request.on('data', chunk => (text += chunk));
		request.on('end', () => {
			try {
				resolve(JSON.parse(text) as Record<string, unknown>);
			} catch {
				resolve({});
			}
		});
	});

export async function startApiServer(options: {operatorToken?: string} = {}): Promise<ApiServer> {
	const users = new Map<string, string>();
	const tokens = new Map<string, string>();
	const hanging = new Set<http.ServerResponse>();
	let next = 1;
	const state: Omit<ApiServer, 'base' | 'port' | 'close'> = {broken: new Set(), health: {status: 200}, projects: new Map(), requests: []};
	const send = (response: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
		response.writeHead(status, {'content-type': 'application/json', ...headers}).end(body === undefined ? '' : JSON.stringify(body));
	};
	const server = http.createServer(async (request, response) => {
		const url = new URL(request.url ?? '/', 'http://127.0.0.1');
		state.requests.push(`${request.method} ${url.pathname}`);
		if (state.broken.has(url.pathname) || state.broken.has(`${request.method} ${url.pathname}`)) return send(response, 500, {error: 'broken on purpose'});
		const user = tokens.get((request.headers.authorization ?? '').replace(/^Bearer /, ''));
		switch (`${request.method} ${url.pathname.replace(/\/\d+$/, '/:id')}`) {
			case 'GET /health':
				return send(response, state.health.status, {status: state.health.status === 200 ? 'ok' : 'down'});
			case 'GET /hang':
				hanging.add(response);
				return;
			case 'GET /internal':
				return request.headers.authorization === `Bearer ${options.operatorToken ?? 's3cret'}` ? send(response, 200, {internal: 'ok'}) : send(response, 401, {error: 'bad token'});
			case 'POST /auth/register': {
				const body = await readJson(request);
				if (typeof body['user'] !== 'string' || users.has(body['user'])) return send(response, 409, {error: 'taken'});
				users.set(body['user'], String(body['password']));
				return send(response, 201, {id: next++, user: body['user']});
			}
			case 'POST /auth/login': {
				const body = await readJson(request);
				if (users.get(String(body['user'])) !== String(body['password'])) return send(response, 401, {error: 'no'});
				const token = `t${next++}x${Math.random().toString(36).slice(2)}`;
				tokens.set(token, String(body['user']));
				return send(response, 200, {token}, {'set-cookie': `sid=${token}; Path=/; HttpOnly`});
			}
			case 'GET /auth/me':
				return user ? send(response, 200, {user}) : send(response, 401, {error: 'who?'});
			case 'POST /projects': {
				if (!user) return send(response, 401, {error: 'who?'});
				const body = await readJson(request);
				const id = String(next++);
				state.projects.set(id, {name: String(body['name']), owner: user});
				return send(response, 201, {project: {id, name: body['name']}}, {location: `/projects/${id}`});
			}
			case 'GET /projects':
				if (!user) return send(response, 401, {error: 'who?'});
				return send(response, 200, {projects: [...state.projects].map(([id, p]) => ({id, ...p}))});
			case 'DELETE /projects/:id': {
				if (!user) return send(response, 401, {error: 'who?'});
				const id = url.pathname.split('/').at(-1)!;
				return state.projects.delete(id) ? send(response, 204) : send(response, 404, {error: 'no such project'});
			}
			default:
				return send(response, 404, {error: 'not found'});
		}
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as AddressInfo).port;
	return {
		...state,
		base: `http://127.0.0.1:${port}`,
		port,
		close: () =>
			new Promise<void>(resolve => {
				for (const response of hanging) response.destroy();
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
