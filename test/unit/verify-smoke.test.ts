import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {httpRequest} from '../../source/engine/http-check.js';
import {parseSmoke} from '../../source/incident/verify/settings.js';
import {runSmoke} from '../../source/incident/verify/smoke.js';
import {startApiServer, type ApiServer} from '../support/api-server.js';

let api: ApiServer;
before(async () => {
	api = await startApiServer({operatorToken: 's3cret'});
});
after(() => api.close());

const flows = (base: string) =>
	parseSmoke([
		{
			flow: 'accounts',
			steps: [
				{name: 'register', method: 'POST', url: `${base}/auth/register`, json: {user: 'u{{run}}', password: 'pw'}, expect: {status: 201, json_keys: ['id']}},
				{name: 'login', method: 'POST', url: `${base}/auth/login`, json: {user: 'u{{run}}', password: 'pw'}, save: {token: {json: 'token'}, sid: {cookie: 'sid'}}},
				{name: 'me', url: `${base}/auth/me`, headers: {Authorization: 'Bearer {{token}}'}, expect: {status: 200, body: 'u'}},
			],
		},
		{
			flow: 'projects',
			steps: [
				{name: 'register', method: 'POST', url: `${base}/auth/register`, json: {user: 'p{{run}}', password: 'pw'}, expect: {status: 201}},
				{name: 'login', method: 'POST', url: `${base}/auth/login`, json: {user: 'p{{run}}', password: 'pw'}, save: {token: {json: '$.token'}}},
				{name: 'create', method: 'POST', url: `${base}/projects`, headers: {Authorization: 'Bearer {{token}}'}, json: {name: 'smoke'}, expect: {status: 201}, save: {id: {json: 'project.id'}}},
				{name: 'list', url: `${base}/projects`, headers: {Authorization: 'Bearer {{token}}'}, expect: {json_keys: ['projects[0].id']}},
			],
			cleanup: [{name: 'delete', method: 'DELETE', url: `${base}/projects/{{id}}`, headers: {Authorization: 'Bearer {{token}}'}, expect: {status: 204}}],
		},
		{name: 'internal', url: `${base}/internal`, headers: {Authorization: 'Bearer $${OPERATOR_TOKEN}'}, expect: {status: 200, json_keys: ['internal']}},
	]);

let run = 0;
const go = (entry: ReturnType<typeof parseSmoke>[number], env: NodeJS.ProcessEnv = {OPERATOR_TOKEN: 's3cret'}) => runSmoke(entry, {http: httpRequest, env, runId: `r${++run}`});

test('register → login → me carries the token over; create → list → delete cleans up', async () => {
	const [accounts, projects, internal] = flows(api.base);
	const a = await go(accounts!);
	assert.equal(a.reason, null);
	assert.deepEqual(a.steps.map(s => [s.name, s.status]), [['register', 201], ['login', 200], ['me', 200]]);
	const p = await go(projects!);
	assert.equal(p.ok, true, p.reason ?? '');
	assert.deepEqual(p.steps.map(s => s.name), ['register', 'login', 'create', 'list', 'delete']);
	assert.equal(api.projects.size, 0, 'the project it created is gone');
	assert.equal((await go(internal!)).ok, true);
});

test('a broken step fails the flow naming the step, and cleanup still runs', async () => {
	const [, projects] = flows(api.base);
	api.broken.add('GET /projects');
	try {
		const result = await go(projects!);
		assert.equal(result.ok, false);
		assert.match(result.reason ?? '', /^flow "projects": step "list" \(GET http:\/\/127\.0\.0\.1:\d+\/projects\) expected 200, got 500/);
		assert.equal(result.steps.at(-1)?.name, 'delete');
		assert.equal(result.steps.at(-1)?.ok, true);
		assert.equal(api.projects.size, 0, 'cleanup deleted what create made, though list failed');
	} finally {
		api.broken.clear();
	}
});

test('a wrong token is a 401 named; an unset variable is named and nothing is sent', async () => {
	const [, , internal] = flows(api.base);
	const wrong = await go(internal!, {OPERATOR_TOKEN: 'nope'});
	assert.match(wrong.reason ?? '', /GET http:\/\/127\.0\.0\.1:\d+\/internal: expected 200, got 401/);
	const before = api.requests.length;
	const unset = await go(internal!, {});
	assert.match(unset.reason ?? '', /header Authorization needs \$OPERATOR_TOKEN: \$OPERATOR_TOKEN is not set in this environment \(not sent\)/);
	assert.equal(api.requests.length, before, 'no request with a blank token');
});

test('an answer that never comes is a timeout, named, within the timeout', async () => {
	const [check] = parseSmoke([{name: 'hang', url: `${api.base}/hang`, timeout: '300ms'}]);
	const started = Date.now();
	const result = await go(check!);
	assert.match(result.reason ?? '', /timeout after 300 ms/);
	assert.ok(Date.now() - started < 2000);
});

test('a redirect off this box is not followed', async () => {
	const answer = await httpRequest({method: 'GET', url: `${api.base}/nowhere`, headers: {}, body: null, timeoutMs: 1000});
	assert.equal(answer.status, 404);
	const {onThisBox} = await import('../../source/engine/http-check.js');
	assert.equal(onThisBox('http://127.0.0.2:80/'), true);
	assert.equal(onThisBox('http://example.com/'), false);
});
