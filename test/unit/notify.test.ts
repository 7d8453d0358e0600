// Webhook and GitHub issue creation against HTTP servers on 127.0.0.1 started here: the
// payload's shape, retries on 500 and 429 (Retry-After honoured), a clear error on 401, a
// timeout that does not hang, and the token in no file written.
import assert from 'node:assert/strict';
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {createFollowUpIssue, notify, webhookPayload, type NotifyFields} from '../../source/incident/follow-up/notify.js';
import {parseNotify} from '../../source/incident/follow-up/notify-settings.js';
import {Timeline} from '../../source/incident/timeline.js';

interface Seen {
	method: string;
	url: string;
	headers: IncomingMessage['headers'];
	body: unknown;
	at: number;
}

const servers: Server[] = [];
after(() => servers.forEach(s => s.closeAllConnections?.() ?? s.close()));

async function serve(handler: (req: Seen, res: ServerResponse, n: number) => void): Promise<{url: string; seen: Seen[]}> {
	const seen: Seen[] = [];
	const server = createServer((req, res) => {
		let text = '';
		req.on('data', c => (text += c));
		req.on('end', () => {
			const entry = {method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : null, at: Date.now()};
			seen.push(entry);
			handler(entry, res, seen.length);
		});
	});
	servers.push(server);
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const address = server.address() as {port: number};
	return {url: `http://127.0.0.1:${address.port}`, seen};
}

const fields: NotifyFields = {project: 'shop', incident: '20261122-031209-ab12', host: 'prod-1', operator: {user: 'alice', ssh: '203.0.113.5 51234 203.0.113.9 22'}, from: 'v1.4.0', to: 'v1.3.9'};
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
	res.writeHead(status, {'content-type': 'application/json', ...headers});
	res.end(JSON.stringify(body));
};

test('the webhook gets Slack-compatible JSON with every field, and the result is recorded', async () => {
	const {url, seen} = await serve((_req, res) => json(res, 200, {ok: true}));
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-notify-'));
	try {
		const timeline = await Timeline.open(path.join(dir, 'timeline.jsonl'), {operator: {user: 'alice', sshConnection: null, pid: 1}});
		const settings = parseNotify({webhook: {url: `${url}/hook`}});
		const out = await notify(settings, 'rollback_started', fields, {record: (s, t, d) => timeline.append(s, t, d)});
		assert.equal(out?.ok, true);
		assert.equal(seen.length, 1);
		const body = seen[0]!.body as Record<string, unknown>;
		assert.equal(seen[0]!.method, 'POST');
		assert.equal(seen[0]!.url, '/hook');
		assert.match(String(body['text']), /shop: rolling back v1\.4\.0 → v1\.3\.9/);
		for (const key of ['event', 'time', 'project', 'incident', 'host', 'operator', 'ssh', 'from', 'to', 'message', 'report', 'bundle', 'sha256', 'issue']) assert.ok(key in body, key);
		assert.deepEqual(Object.keys(webhookPayload('incident_closed', fields, 'now')).sort(), Object.keys(body).sort());
		const recorded = timeline.events().find(e => e.type === 'notify_result')!;
		assert.equal(recorded.data['ok'], true);
		assert.equal(recorded.data['event'], 'rollback_started');
	} finally {
		rmSync(dir, {recursive: true, force: true});
	}
});

test('${VAR} in the webhook URL is expanded from the environment', async () => {
	const {url, seen} = await serve((_req, res) => json(res, 200, {}));
	const settings = parseNotify({webhook: {url: '${TEST_HOOK_URL}'}});
	const out = await notify(settings, 'incident_opened', fields, {env: {TEST_HOOK_URL: `${url}/x`}});
	assert.equal(out?.ok, true);
	assert.equal(seen.length, 1);
	const unset = await notify(settings, 'incident_opened', fields, {env: {}});
	assert.equal(unset?.ok, false);
	assert.match(unset!.line, /empty once expanded.*is the variable set/);
});

test('500 then 429 with Retry-After: retried, the wait honoured, then sent', async () => {
	const {url, seen} = await serve((_req, res, n) => {
		if (n === 1) return json(res, 500, {error: 'boom'});
		if (n === 2) return json(res, 429, {error: 'slow down'}, {'retry-after': '1'});
		json(res, 200, {ok: true});
	});
	const out = await notify(parseNotify({webhook: {url}}), 'rollback_completed', fields, {retries: 2});
	assert.equal(out?.ok, true, out?.line);
	assert.equal(out?.result?.attempts, 3);
	assert.equal(seen.length, 3);
	assert.ok(seen[2]!.at - seen[1]!.at >= 900, `Retry-After: 1 honoured (waited ${seen[2]!.at - seen[1]!.at} ms)`);
});

test('a server that never answers: the timeout ends it, the failure is a result, nothing hangs', async () => {
	await serve(() => {
		/* never answers */
	}).then(async ({url}) => {
		const started = Date.now();
		const out = await notify(parseNotify({webhook: {url, timeout_ms: 300}}), 'rollback_failed', fields, {retries: 1});
		const took = Date.now() - started;
		assert.equal(out?.ok, false);
		assert.match(out!.line, /no answer within 0\.3 s/);
		assert.ok(took < 5000, `took ${took} ms`);
	});
});

test('GitHub issue: the report as body, the URL recorded; 401 is a clear error; the token is in no file written', async () => {
	const token = `ghp_${'x'.repeat(20)}TESTTOKEN`;
	const {url, seen} = await serve((req, res) => {
		if (req.headers['authorization'] !== `Bearer ${token}`) return json(res, 401, {message: 'Bad credentials'});
		json(res, 201, {html_url: 'https://github.example/org/app/issues/7', number: 7});
	});
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-issue-'));
	try {
		const timeline = await Timeline.open(path.join(dir, 'timeline.jsonl'), {operator: {user: 'alice', sshConnection: null, pid: 1}});
		const record = (s: Parameters<Timeline['append']>[0], t: string, d: Record<string, unknown>) => timeline.append(s, t, d);
		const settings = parseNotify({github: {repo: 'org/app', token_env: 'TEST_GH_TOKEN', api_url: url}});
		const created = await createFollowUpIssue(settings, {title: 'Incident', body: '# report\nbody'}, {env: {TEST_GH_TOKEN: token}, record});
		assert.equal(created.ok, true, created.error ?? '');
		assert.equal(created.url, 'https://github.example/org/app/issues/7');
		assert.equal(seen[0]!.url, '/repos/org/app/issues');
		assert.deepEqual(seen[0]!.body, {title: 'Incident', body: '# report\nbody'});
		assert.equal(timeline.events().find(e => e.type === 'issue_created')?.data['url'], 'https://github.example/org/app/issues/7');

		const refused = await createFollowUpIssue(settings, {title: 'Incident', body: 'x'}, {env: {TEST_GH_TOKEN: 'wrong-token'}, record});
		assert.equal(refused.ok, false);
		assert.match(refused.error!, /GitHub refused the token \(401\)/);
		assert.equal(seen.length, 2, '401 is not retried');

		const none = await createFollowUpIssue(settings, {title: 'Incident', body: 'x'}, {env: {}, record});
		assert.match(none.error!, /no GitHub token/);

		await timeline.settled();
		for (const file of readdirSync(dir, {recursive: true}) as string[]) {
			const full = path.join(dir, file);
			if (statSync(full).isFile()) assert.ok(!readFileSync(full, 'utf8').includes(token), `${file} holds the token`);
		}
	} finally {
		rmSync(dir, {recursive: true, force: true});
	}
});

test('settings: bad values are one clear line naming the key', () => {
	assert.throws(() => parseNotify({github: {repo: 'not a repo'}}), /x-rollback-console\.notify\.github\.repo: expected owner\/name/);
	assert.throws(() => parseNotify({github: {repo: 'o/r', token_env: 'ghp_abc def'}}), /notify\.github\.token_env: .* not an environment variable name/);
	assert.throws(() => parseNotify({webhook: {url: 'ftp://x'}}), /notify\.webhook\.url: "ftp:\/\/x" is not an http\(s\) URL/);
	assert.throws(() => parseNotify({slack: {}}), /notify\.slack: unknown key/);
	assert.equal(parseNotify({github: {repo: 'o/r', api_url: 'https://ghe.example.com/api/v3'}})?.github?.webUrl, 'https://ghe.example.com');
	assert.equal(parseNotify({github: {repo: 'o/r'}})?.github?.webUrl, 'https://github.com');
});
