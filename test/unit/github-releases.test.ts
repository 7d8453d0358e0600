// The project's GitHub releases as rollback candidates: the REST API served on 127.0.0.1.
import assert from 'node:assert/strict';
import {createServer, type IncomingMessage, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {after, before, test} from 'node:test';
import {firstLine, GithubClient} from '../../source/engine/github-releases.js';
import {buildCandidates} from '../../source/incident/stabilise/releases.js';

let server: Server;
let base = '';
const requests: IncomingMessage[] = [];
const page = (tags: string[], offset: number) =>
	tags.map((tag, i) => ({
		tag_name: tag,
		name: `Release ${tag}`,
		published_at: `2026-11-${String(10 + offset + i).padStart(2, '0')}T12:00:00Z`,
		body: `\n## Fixes the checkout ${tag}\r\n\nMore text`,
		html_url: `https://github.com/org/app/releases/tag/${tag}`,
		draft: false,
		prerelease: false,
	}));

before(async () => {
	server = createServer((req, res) => {
		requests.push(req);
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		if (url.pathname === '/repos/org/missing/releases') {
			res.writeHead(404).end('{"message":"Not Found"}');
			return;
		}
		if (url.pathname === '/repos/org/limited/releases') {
			res.writeHead(403, {'x-ratelimit-remaining': '0'}).end('{}');
			return;
		}
		if (url.pathname !== '/repos/org/app/releases') {
			res.writeHead(500).end();
			return;
		}
		res.setHeader('content-type', 'application/json');
		if (url.searchParams.get('page') === '2') {
			res.end(JSON.stringify([...page(['1.3.8'], 0), {tag_name: 'v2.0.0-draft', draft: true}]));
			return;
		}
		res.setHeader('link', `<${base}/repos/org/app/releases?per_page=100&page=2>; rel="next"`);
		res.end(JSON.stringify(page(['v1.4.0', 'v1.3.9', 'v1.5.0'], 1)));
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('the releases, every page, drafts left out, the notes cut to their first line; the token sent when set', async () => {
	const client = new GithubClient({env: {ROLLBACK_CONSOLE_GITHUB_API: base, GITHUB_TOKEN: 'ghp_test'}});
	const releases = await client.releases('org/app');
	assert.deepEqual(releases.map(r => r.tag), ['v1.4.0', 'v1.3.9', 'v1.5.0', '1.3.8']);
	assert.equal(releases[1]!.note, 'Fixes the checkout v1.3.9');
	assert.equal(releases[1]!.publishedAt, '2026-11-12T12:00:00Z');
	assert.equal(requests.at(-1)!.headers['authorization'], 'Bearer ghp_test');
	assert.equal(firstLine('x'.repeat(200))!.length, 120);
});

test('GitHub errors are one line naming what to do', async () => {
	const client = new GithubClient({env: {ROLLBACK_CONSOLE_GITHUB_API: base}});
	await assert.rejects(client.releases('org/missing'), /GitHub has no repository org\/missing/);
	await assert.rejects(client.releases('org/limited'), /HTTP 403, rate limit reached\): set GITHUB_TOKEN/);
	await assert.rejects(new GithubClient({env: {ROLLBACK_CONSOLE_GITHUB_API: 'http://127.0.0.1:9'}, timeoutMs: 500}).releases('org/app'), /does not answer/);
});

test('GitHub releases join the registry, local images and releases.jsonl, sorted by SemVer; 1.3.8 matches the image tag v1.3.8', async () => {
	const github = await new GithubClient({env: {ROLLBACK_CONSOLE_GITHUB_API: base}}).releases('org/app');
	const candidates = buildCandidates({records: [], registryTags: ['v1.3.8', 'v1.3.9', 'v1.4.0'], local: [], currentTag: 'v1.4.0', github});
	assert.deepEqual(candidates.map(c => c.tag), ['v1.5.0', 'v1.4.0', 'v1.3.9', 'v1.3.8']);
	const old = candidates.find(c => c.tag === 'v1.3.8')!;
	assert.equal(old.github?.tag, '1.3.8');
	assert.equal(old.registry.present, true);
	const only = candidates.find(c => c.tag === 'v1.5.0')!;
	assert.equal(only.registry.present, false, 'a GitHub release with no image is listed, not in the registry');
	assert.equal(only.date, '2026-11-13T12:00:00Z');
});
