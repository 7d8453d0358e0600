// The CI status of a release's commit from a GitHub-compatible API served here on
// 127.0.0.1: passed, failed, pending and no-such-commit each shown as such.
import assert from 'node:assert/strict';
import {createServer, type Server} from 'node:http';
import {after, before, test} from 'node:test';
import {foldCiStatus} from '../../source/incident/follow-up/ci-status.js';
import {parseNotify} from '../../source/incident/follow-up/notify-settings.js';
import {releaseLinks} from '../../source/incident/follow-up/release-links.js';
import {reminderStates} from '../../source/incident/follow-up/reminders.js';
import type {TimelineEvent} from '../../source/incident/timeline.js';

const commits: Record<string, {statuses: Array<{context: string; state: string}>; checks: Array<{name: string; status: string; conclusion: string | null}>}> = {
	aaaa111: {statuses: [{context: 'ci/build', state: 'success'}], checks: [{name: 'test', status: 'completed', conclusion: 'success'}]},
	bbbb222: {statuses: [{context: 'ci/build', state: 'success'}], checks: [{name: 'test', status: 'completed', conclusion: 'failure'}]},
	cccc333: {statuses: [{context: 'ci/build', state: 'pending'}], checks: [{name: 'test', status: 'in_progress', conclusion: null}]},
};
const requests: string[] = [];
let server: Server;
let api = '';

before(async () => {
	server = createServer((req, res) => {
		requests.push(`${req.method} ${req.url} ${req.headers['authorization'] ?? '-'}`);
		const match = /^\/repos\/org\/app\/commits\/([^/]+)\/(status|check-runs)/.exec(req.url ?? '');
		const commit = match ? commits[match[1]!] : undefined;
		res.setHeader('content-type', 'application/json');
		if (!commit) {
			res.writeHead(422);
			return res.end(JSON.stringify({message: `No commit found for SHA: ${match?.[1]}`}));
		}
		const body =
			match![2] === 'status'
				? {state: commit.statuses.some(s => s.state === 'pending') ? 'pending' : 'success', statuses: commit.statuses}
				: {total_count: commit.checks.length, check_runs: commit.checks};
		res.end(JSON.stringify(body));
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	api = `http://127.0.0.1:${(server.address() as {port: number}).port}`;
});
after(() => server.close());

const rollbackTo = (imageId: string): TimelineEvent[] => [
	{
		time: '2026-11-22T03:15:00.000Z',
		seq: 1,
		operator: {user: 'alice', ssh: null, pid: 1},
		step: 'stabilise',
		type: 'rollback_start',
		data: {runId: 'r1', from: 'v1.4.0', to: 'v1.3.9', services: [{service: 'web', from: {tag: 'v1.4.0', digest: 'sha256:f', imageId: 'img-from'}, to: {tag: 'v1.3.9', reference: 'repo:v1.3.9', digest: 'sha256:t', imageId}}]},
	},
];

async function ciOf(sha: string) {
	const github = parseNotify({github: {repo: 'org/app', token_env: 'TEST_CI_TOKEN', api_url: api}})!.github;
	const inspectImage = async (ref: string) => ({Config: {Labels: {'org.opencontainers.image.revision': ref === 'img-to' ? sha : 'ffff000'}}});
	return releaseLinks(rollbackTo('img-to'), {github, inspectImage, env: {TEST_CI_TOKEN: 'tok'}});
}

for (const [sha, state, detail] of [
	['aaaa111', 'passed', /2 checks passed/],
	['bbbb222', 'failed', /test failed/],
	['cccc333', 'pending', /ci\/build, test still running/],
	['dddd444', 'unknown', /no such commit dddd444 in org\/app/],
] as const) {
	test(`a commit whose CI ${state === 'unknown' ? 'does not exist' : state} is shown as ${state}`, async () => {
		const links = await ciOf(sha);
		assert.equal(links.to?.revision, sha);
		assert.equal(links.to?.ci?.state, state);
		assert.match(links.to!.ci!.detail, detail);
		assert.equal(links.to?.url, `${api}/org/app/releases/tag/v1.3.9`);
		const ci = reminderStates([], links).find(r => r.id === 'ci')!;
		assert.equal(ci.done, state === 'passed');
		assert.match(ci.note!, new RegExp(`CI ${state} for v1\\.3\\.9`));
	});
}

test('the token goes in the Authorization header of both calls', async () => {
	requests.length = 0;
	await ciOf('aaaa111');
	assert.ok(requests.length >= 2 && requests.every(r => r.endsWith('Bearer tok')), requests.join('\n'));
});

test('no revision label, or no repository configured: unknown, saying why', async () => {
	const none = await releaseLinks(rollbackTo('img-to'), {github: null, inspectImage: async () => ({Config: {Labels: {}}})});
	assert.equal(none.to?.ci, null);
	assert.match(reminderStates([], none).find(r => r.id === 'ci')!.note!, /no org\.opencontainers\.image\.revision label/);
	assert.deepEqual(foldCiStatus({state: 'pending', statuses: []}, []), {state: 'unknown', detail: 'no statuses or check runs reported for this commit'});
});
