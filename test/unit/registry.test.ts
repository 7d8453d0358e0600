import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server} from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {dockerCredentials, endpointFor, parseChallenge, RegistryClient, RegistryError} from '../../source/engine/registry.js';
import {freePort} from '../support/stack.js';

// A registry that wants a bearer token (from its token service, with basic credentials) for
// the private repository, and none for the public one.
let server: Server;
let host = '';
const configDir = mkdtempSync(path.join(os.tmpdir(), 'rc-docker-config-'));
const seen: string[] = [];
const manifest = '{"schemaVersion":2}';

function authorized(req: IncomingMessage): boolean {
	return req.headers.authorization === 'Bearer t0k3n';
}

before(async () => {
	server = createServer((req, res) => {
		const url = new URL(req.url!, `http://${host}`);
		seen.push(`${req.method} ${url.pathname}${url.search}`);
		if (url.pathname === '/token') {
			const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
			if (req.headers.authorization !== basic || url.searchParams.get('scope') !== 'repository:private/app:pull') {
				res.writeHead(401).end();
				return;
			}
			res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({token: 't0k3n'}));
			return;
		}
		if (url.pathname.startsWith('/v2/private/') && !authorized(req)) {
			res.writeHead(401, {'www-authenticate': `Bearer realm="http://${host}/token",service="test",scope="repository:private/app:pull"`}).end();
			return;
		}
		if (url.pathname === '/v2/private/app/tags/list') {
			if (url.searchParams.get('last')) {
				res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({name: 'private/app', tags: ['v1.3.9']}));
			} else {
				res.writeHead(200, {'content-type': 'application/json', link: '</v2/private/app/tags/list?last=v1.3.8&n=2>; rel="next"'}).end(
					JSON.stringify({name: 'private/app', tags: ['v1.3.7', 'v1.3.8']}),
				);
			}
			return;
		}
		if (url.pathname === '/v2/private/app/manifests/v1.3.9') {
			res.writeHead(200, {'docker-content-digest': `sha256:${'9'.repeat(64)}`}).end(req.method === 'HEAD' ? undefined : manifest);
			return;
		}
		if (url.pathname === '/v2/public/app/manifests/nodigest') {
			// Some registries send the digest header only on GET, or not at all.
			res.writeHead(200, {'content-type': 'application/vnd.docker.distribution.manifest.v2+json'}).end(req.method === 'HEAD' ? undefined : manifest);
			return;
		}
		if (url.pathname === '/v2/public/app/manifests/moved') {
			res.writeHead(307, {location: '/v2/public/app/manifests/here'}).end();
			return;
		}
		if (url.pathname === '/v2/public/app/manifests/here') {
			res.writeHead(200, {'docker-content-digest': `sha256:${'8'.repeat(64)}`}).end();
			return;
		}
		// A registry that takes the request and never answers.
		if (url.pathname === '/v2/public/app/manifests/hang') return;
		if (url.pathname === '/v2/public/app/tags/list') {
			res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({name: 'public/app', tags: null}));
			return;
		}
		res.writeHead(404).end();
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
	writeFileSync(path.join(configDir, 'config.json'), JSON.stringify({auths: {[host]: {auth: Buffer.from('alice:s3cret').toString('base64')}}}));
});

after(() => {
	server?.closeAllConnections();
	server?.close();
	rmSync(configDir, {recursive: true, force: true});
});

const client = () => new RegistryClient({env: {DOCKER_CONFIG: configDir}, timeoutMs: 2000});

test('where a repository\'s API is: plain HTTP on loopback only; Docker Hub\'s official images under library/', () => {
	assert.deepEqual(endpointFor('127.0.0.1:5000/rct/app'), {registry: '127.0.0.1:5000', baseUrl: 'http://127.0.0.1:5000', name: 'rct/app', credentialKey: '127.0.0.1:5000'});
	assert.equal(endpointFor('registry.example.com/shop/api').baseUrl, 'https://registry.example.com');
	assert.equal(endpointFor('nginx').name, 'library/nginx');
	assert.equal(endpointFor('nginx').baseUrl, 'https://registry-1.docker.io');
});

test('WWW-Authenticate challenges and docker login credentials', () => {
	assert.deepEqual(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:shop/api:pull"'), {
		scheme: 'bearer',
		params: {realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:shop/api:pull'},
	});
	assert.deepEqual(parseChallenge('Basic realm="Registry"'), {scheme: 'basic', params: {realm: 'Registry'}});
	assert.equal(parseChallenge(null), null);
	assert.deepEqual(dockerCredentials(host, {DOCKER_CONFIG: configDir}), {username: 'alice', password: 's3cret'});
	assert.equal(dockerCredentials('other.example.com', {DOCKER_CONFIG: configDir}), null);
});

test('tags across pages, after the bearer-token flow with the stored credentials', async () => {
	seen.length = 0;
	const registry = client();
	assert.deepEqual(await registry.tags(`${host}/private/app`), ['v1.3.7', 'v1.3.8', 'v1.3.9']);
	assert.ok(seen.some(s => s.startsWith('GET /token?service=test&scope=repository%3Aprivate%2Fapp%3Apull')), seen.join('\n'));
	// The token is reused: no second trip to the token service.
	const before = seen.filter(s => s.startsWith('GET /token')).length;
	assert.equal(await registry.digest(`${host}/private/app`, 'v1.3.9'), `sha256:${'9'.repeat(64)}`);
	assert.equal(seen.filter(s => s.startsWith('GET /token')).length, before);
	assert.deepEqual(await registry.tags(`${host}/public/app`), []);
});

test('manifest digests: from the header, else the manifest\'s own sha256; null for an unknown tag', async () => {
	const registry = client();
	assert.equal(await registry.digest(`${host}/public/app`, 'nodigest'), `sha256:${createHash('sha256').update(manifest).digest('hex')}`);
	assert.equal(await registry.digest(`${host}/public/app`, 'v9.9.9'), null);
});

test('without credentials the token service refuses: a one-line unauthorized error', async () => {
	const registry = new RegistryClient({env: {DOCKER_CONFIG: path.join(configDir, 'none')}, timeoutMs: 2000});
	await assert.rejects(registry.tags(`${host}/private/app`), (error: unknown) => {
		assert.ok(error instanceof RegistryError);
		assert.equal(error.problem, 'unauthorized');
		assert.match(error.message, new RegExp(`registry ${host}: the token service .* refused a pull token \\(HTTP 401\\): docker login ${host}`));
		return true;
	});
});

test('a registry that does not answer is unreachable, said in one line', async () => {
	const port = await freePort();
	await assert.rejects(client().digest(`127.0.0.1:${port}/rct/app`, 'v1'), (error: unknown) => {
		assert.ok(error instanceof RegistryError);
		assert.equal(error.problem, 'unreachable');
		assert.equal(error.message, `registry 127.0.0.1:${port} does not answer (connection refused)`);
		return true;
	});
});

test('a redirect is followed, as fetch did', async () => {
	assert.equal(await client().digest(`${host}/public/app`, 'moved'), `sha256:${'8'.repeat(64)}`);
});

test('a registry that takes the request and never answers: unreachable after the timeout', async () => {
	const registry = new RegistryClient({env: {DOCKER_CONFIG: configDir}, timeoutMs: 300});
	await assert.rejects(registry.digest(`${host}/public/app`, 'hang'), (error: unknown) => {
		assert.ok(error instanceof RegistryError);
		assert.equal(error.problem, 'unreachable');
		assert.equal(error.message, `registry ${host} does not answer (timeout after 300 ms)`);
		return true;
	});
});
