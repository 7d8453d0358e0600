// Step 6 against real stacks: `rollback-console verify` passes on a healthy stack and records
// it (the next rollback's last known good), and fails, naming the reason, on a health URL
// answering 500 or never answering, a wrong or unset operator token, a broken flow step, a
// crash-looping service and an error rate over the baseline. Short windows and retries
// (settings allow them) keep it fast.
import assert from 'node:assert/strict';
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {spawn} from 'node:child_process';
import {CLI, runCli} from '../support/cli.js';
import {startApiServer, type ApiServer} from '../support/api-server.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';

let api: ApiServer;
let stateDir: string;
const stacks: Stack[] = [];

before(async () => {
	await ensureTestReleases();
	api = await startApiServer({operatorToken: 's3cret'});
	stateDir = await mkdtemp(path.join(tmpdir(), 'rc-verify-state-'));
});
after(async () => {
	await Promise.all(stacks.map(s => s.down()));
	await api?.close();
	await rm(stateDir, {recursive: true, force: true});
});

/** The whole x-rollback-console block (an override file replaces the base file's block). */
function block(stack: Stack, extra = ''): string {
	return `x-rollback-console:
  release: {variable: IMAGE_TAG, services: [web, worker], persist: env}
  health:
    - url: http://127.0.0.1:${stack.webPort}/health
  verify: {window: 3s, health: {tries: 3, interval: 300ms}}
${extra}`;
}

const smoke = (base: string) => `  smoke:
    - name: internal
      url: ${base}/internal
      headers: {Authorization: "Bearer $\${OPERATOR_TOKEN}"}
      expect: {status: 200, json_keys: [internal]}
    - name: internal-plain
      url: ${base}/internal
      headers: {Authorization: "Bearer \${OPERATOR_TOKEN}"}
    - flow: accounts
      steps:
        - {name: register, method: POST, url: "${base}/auth/register", json: {user: "u{{run}}", password: pw}, expect: {status: 201}}
        - {name: login, method: POST, url: "${base}/auth/login", json: {user: "u{{run}}", password: pw}, save: {token: {json: token}}}
        - {name: me, url: "${base}/auth/me", headers: {Authorization: "Bearer {{token}}"}, expect: {status: 200, json_keys: [user]}}
    - flow: projects
      steps:
        - {name: register, method: POST, url: "${base}/auth/register", json: {user: "p{{run}}", password: pw}, expect: {status: 201}}
        - {name: login, method: POST, url: "${base}/auth/login", json: {user: "p{{run}}", password: pw}, save: {token: {json: token}}}
        - {name: create, method: POST, url: "${base}/projects", headers: {Authorization: "Bearer {{token}}"}, json: {name: smoke}, expect: {status: 201}, save: {id: {json: project.id}}}
        - {name: list, url: "${base}/projects", headers: {Authorization: "Bearer {{token}}"}, expect: {json_keys: [projects]}}
      cleanup:
        - {name: delete, method: DELETE, url: "${base}/projects/{{id}}", headers: {Authorization: "Bearer {{token}}"}, expect: {status: 204}}
`;

const setOverride = (stack: Stack, text: string) => writeFile(path.join(stack.dir, 'compose.override.yaml'), text);

interface VerifyJson {
	verified: boolean;
	tag: string | null;
	checks: Array<{id: string; status: string; detail: string; reason: string | null}>;
	failures: string[];
	incident: string;
}

async function verify(stack: Stack, args: string[] = [], env: NodeJS.ProcessEnv = {OPERATOR_TOKEN: 's3cret'}) {
	const started = Date.now();
	const text = await runCli(['verify', '--project-dir', stack.dir, '--state-dir', stateDir, ...args], {env, timeoutMs: 90_000});
	const json = await runCli(['verify', '--json', '--project-dir', stack.dir, '--state-dir', stateDir, ...args], {env, timeoutMs: 90_000});
	return {text, json: JSON.parse(json.stdout) as VerifyJson, exitCode: json.exitCode, ms: Date.now() - started};
}

const releases = async (stack: Stack) =>
	(await readFile(path.join(stateDir, stack.projectName, 'releases.jsonl'), 'utf8').catch(() => ''))
		.split('\n')
		.filter(Boolean)
		.map(line => JSON.parse(line) as {event: string; tag: string; digests: Record<string, string | null>; errorBaseline?: {perMinute: Record<string, number>}});

describe('a healthy stack, then a bad deploy', () => {
	let stack: Stack;
	before(async () => {
		stack = await createStack({tag: 'v1.3.8', withDb: false});
		stacks.push(stack);
		await setOverride(stack, block(stack, smoke(api.base)));
		await stack.up({wait: true});
	});

	test('passes: services, health, smoke checks and flows, error rate; recorded verified with digests and baseline', async () => {
		const {text, json, exitCode} = await verify(stack);
		assert.equal(exitCode, 0, text.stdout + text.stderr);
		assert.equal(text.exitCode, 0);
		assert.equal(json.verified, true, json.failures.join('\n'));
		assert.equal(json.tag, 'v1.3.8');
		assert.deepEqual(
			json.checks.map(c => [c.id, c.status]),
			[
				['services', 'pass'],
				[`health:http://127.0.0.1:${stack.webPort}/health`, 'pass'],
				['smoke:internal', 'pass'],
				['smoke:internal-plain', 'pass'],
				['smoke:accounts', 'pass'],
				['smoke:projects', 'pass'],
				['errors:web', 'pass'],
				['errors:worker', 'pass'],
			],
		);
		assert.equal(api.projects.size, 0, 'the projects flow deleted what it created');
		assert.match(text.stdout, /^verified: v1\.3\.8 is recorded as verified/m);
		assert.match(text.stderr, /verify: ok {3}flow accounts/);
		const verified = (await releases(stack)).filter(r => r.event === 'verified');
		assert.equal(verified.length, 2, 'one record per passing run');
		assert.equal(verified[0]!.tag, 'v1.3.8');
		assert.match(verified[0]!.digests['web'] ?? '', /^sha256:[0-9a-f]{64}$/);
		assert.deepEqual(Object.keys(verified[0]!.errorBaseline?.perMinute ?? {}).sort(), ['web', 'worker']);
		// The incident's timeline: step 6 done, with every check.
		const timeline = await readFile(path.join(stateDir, stack.projectName, 'incidents', json.incident, 'timeline.jsonl'), 'utf8');
		const events = timeline.split('\n').filter(Boolean).map(l => JSON.parse(l) as {step: string | null; type: string; data: Record<string, unknown>});
		const complete = events.filter(e => e.type === 'verify_complete').at(-1)!;
		assert.equal(complete.data['verified'], true);
		assert.equal((complete.data['checks'] as unknown[]).length, 8);
		assert.ok(events.some(e => e.step === 'verify' && e.type === 'action_result' && e.data['ok'] === true));
		assert.equal(events.filter(e => e.step === 'verify' && e.type === 'step_status').at(-1)?.data['status'], 'done');
	});

	test('a wrong operator token (401) and an unset one are named; a broken flow step is named; nothing recorded', async () => {
		const before = (await releases(stack)).length;
		const wrong = await verify(stack, ['--no-wait'], {OPERATOR_TOKEN: 'nope'});
		assert.equal(wrong.exitCode, 1);
		assert.match(wrong.text.stdout, /FAIL smoke internal: GET http:\/\/127\.0\.0\.1:\d+\/internal: expected 200, got 401/);
		const internalBefore = api.requests.filter(r => r === 'GET /internal').length;
		const unset = await verify(stack, ['--no-wait'], {});
		assert.equal(unset.exitCode, 1);
		assert.match(unset.text.stdout, /FAIL smoke internal: .*header Authorization needs \$OPERATOR_TOKEN: \$OPERATOR_TOKEN is not set in this environment \(not sent\)/);
		// Written `${OPERATOR_TOKEN}`, compose filled it with a blank: named all the same, not sent.
		assert.match(unset.text.stdout, /FAIL smoke internal-plain: .*header Authorization needs \$OPERATOR_TOKEN: \$OPERATOR_TOKEN is not set in this environment \(not sent\)/);
		assert.equal(api.requests.filter(r => r === 'GET /internal').length, internalBefore, 'no request went out with a blank token');
		api.broken.add('GET /projects');
		try {
			const broken = await verify(stack, ['--no-wait']);
			assert.equal(broken.exitCode, 1);
			assert.match(broken.text.stdout, /FAIL flow projects: flow "projects": step "list" \(GET http:\/\/127\.0\.0\.1:\d+\/projects\) expected 200, got 500/);
			assert.deepEqual(broken.json.failures.length, 1, broken.json.failures.join('\n'));
			assert.equal(api.projects.size, 0, 'cleanup ran after the failed step');
		} finally {
			api.broken.clear();
		}
		assert.equal((await releases(stack)).length, before, 'a failed verify records no release');
	});

	test('a health URL answering 500, and one that never answers, fail within the timeouts', async () => {
		await setOverride(
			stack,
			block(stack).replace(
				`    - url: http://127.0.0.1:${stack.webPort}/health\n`,
				`    - url: http://127.0.0.1:${stack.webPort}/health\n    - url: ${api.base}/health\n    - url: ${api.base}/hang\n      timeout_ms: 400\n`,
			),
		);
		api.health.status = 500;
		try {
			const {text, exitCode, ms} = await verify(stack, ['--no-wait']);
			assert.equal(exitCode, 1);
			assert.match(text.stdout, new RegExp(`FAIL health ${api.base}/health: ${api.base}/health: failed 3 tries 300ms apart \\(last: expected 200, got 500\\)`));
			assert.match(text.stdout, new RegExp(`FAIL health ${api.base}/hang: ${api.base}/hang: failed 3 tries 300ms apart \\(last: timeout after 400 ms\\)`));
			assert.match(text.stderr, /try 2 of 3/);
			assert.ok(ms < 30_000, `two runs took ${ms} ms`);
		} finally {
			api.health.status = 200;
		}
	});

	test('the next rollback\'s last known good is the verified release; rollback --verify verifies it', async () => {
		await setOverride(stack, block(stack));
		await stack.setTag('v1.4.0');
		await stack.up();
		const history = await runCli(['history', '--json', '--project-dir', stack.dir, '--state-dir', stateDir]);
		const h = JSON.parse(history.stdout) as {current: string; lastKnownGood: string | null};
		assert.equal(h.current, 'v1.4.0');
		assert.equal(h.lastKnownGood, 'v1.3.8', 'verified by verify alone (never deployed through rollback-console)');

		const bad = await runCli(['verify', '--no-wait', '--project-dir', stack.dir, '--state-dir', stateDir]);
		assert.equal(bad.exitCode, 1);
		assert.match(bad.stdout, /FAIL services running, healthy, not crash-looping: web: /);

		const result = await runCli(['rollback', '--yes', '--verify', '--json', '--project-dir', stack.dir, '--state-dir', stateDir], {timeoutMs: 120_000});
		assert.equal(result.exitCode, 0, result.stdout + result.stderr);
		// One JSON document: the rollback's result and the verification right after it.
		const both = JSON.parse(result.stdout) as {plan: {to: {tag: string}}; result: {success: boolean}; verify: VerifyJson & {recorded: string | null}};
		assert.equal(both.plan.to.tag, 'v1.3.8');
		assert.equal(both.result.success, true);
		assert.equal(both.verify.verified, true, both.verify.failures.join('\n'));
		assert.equal(both.verify.recorded, 'v1.3.8');
	});
});

describe('crash loops and errors', () => {
	let stack: Stack;
	before(async () => {
		stack = await createStack({tag: 'v1.3.9', withDb: false});
		stacks.push(stack);
		await setOverride(
			stack,
			`${block(stack)}
services:
  worker:
    command: ["sh", "-c", "while :; do echo \\"$$(date -u +%FT%TZ) level=error msg=boom\\"; sleep 0.2; done"]
  crasher:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    restart: unless-stopped
    command: ["sh", "-c", "echo up; sleep 2; exit 3"]
`,
		);
		await stack.up();
		// The rate the last verified release ran with: the baseline this run is held to.
		await mkdir(path.join(stateDir, stack.projectName), {recursive: true});
		await writeFile(
			path.join(stateDir, stack.projectName, 'releases.jsonl'),
			`${JSON.stringify({time: '2026-11-20T10:00:00.000Z', event: 'verified', tag: 'v1.3.8', digests: {}, imageIds: {}, migrationHead: null, operator: null, errorBaseline: {perMinute: {web: 0, worker: 1.5}, windowMs: 300_000}})}\n`,
		);
		// Until the crasher has crashed once.
		for (let i = 0; i < 40; i++) {
			const {stdout} = await runCli(['status', '--json', '--project-dir', stack.dir]);
			if ((JSON.parse(stdout) as {services: Array<{service: string; restartCount: number}>}).services.some(s => s.service === 'crasher' && s.restartCount >= 1)) break;
			await delay(500);
		}
	});

	test('a service up for a few seconds between crashes, and an error rate over the limit, fail by name', async () => {
		const {text, json, exitCode} = await verify(stack);
		assert.equal(text.exitCode, 1, text.stderr);
		assert.equal(exitCode, 1);
		assert.equal(json.verified, false);
		assert.match(text.stdout, /FAIL services running, healthy, not crash-looping: .*crasher: crash-looping, /);
		assert.match(text.stdout, /FAIL error rate worker: worker: \d+\.\d error lines\/min, over 1\.5× its baseline 1\.5\/min \(limit 2\.3\/min\)/);
		assert.equal(json.checks.find(c => c.id === 'errors:web')?.status, 'pass');
		assert.equal((await releases(stack)).filter(r => r.event === 'verified').length, 1, 'nothing added on a fail');
	});
});

describe('a stack with no x-rollback-console block', () => {
	let stack: Stack;
	before(async () => {
		stack = await createStack({tag: 'v1.3.9', withDb: false});
		stacks.push(stack);
		const file = path.join(stack.dir, 'compose.yaml');
		const text = await readFile(file, 'utf8');
		await writeFile(file, text.replace(/^x-rollback-console:\n(?:[ #].*\n|\n)*/m, ''));
		await stack.up({wait: true});
	});

	test('is verified through the URL in its healthcheck', async () => {
		const config = await stack.compose(['config', '--format', 'json']);
		assert.equal((JSON.parse(config.stdout) as Record<string, unknown>)['x-rollback-console'], undefined);
		const {text, json, exitCode} = await verify(stack, ['--no-wait']);
		assert.equal(exitCode, 0, text.stdout);
		const health = json.checks.find(c => c.id.startsWith('health:'));
		assert.equal(health?.id, `health:http://127.0.0.1:${stack.webPort}/health`);
		assert.equal(health?.status, 'pass');
		assert.match(text.stdout, new RegExp(`ok {3}health http://127\\.0\\.0\\.1:${stack.webPort}/health`));
	});


	test('--read-only runs the checks and records nothing', async () => {
		const before = (await releases(stack)).length;
		const result = await runCli(['verify', '--read-only', '--no-wait', '--project-dir', stack.dir, '--state-dir', stateDir]);
		assert.equal(result.exitCode, 0, result.stdout);
		assert.match(result.stdout, /^verified: v1\.3\.9 passed every check \(--read-only: nothing recorded\)/m);
		assert.equal((await releases(stack)).length, before);
	});

	test('Ctrl+C stops it within moments, recording what was seen; not verified', async () => {
		const child = spawn(process.execPath, [CLI, 'verify', '--window', '1m', '--project-dir', stack.dir, '--state-dir', stateDir], {env: {...process.env, NO_COLOR: '1'}});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', chunk => (stdout += chunk));
		child.stderr.on('data', chunk => (stderr += chunk));
		const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
		for (let i = 0; i < 100 && !/ok {3}health/.test(stderr); i++) await delay(100);
		assert.match(stderr, /ok {3}health/);
		const stoppedAt = Date.now();
		child.kill('SIGINT');
		const code = await exited;
		assert.equal(code, 1);
		assert.ok(Date.now() - stoppedAt < 10_000, 'stops promptly, not at the end of the minute');
		assert.match(stdout, /^stopped: not verified/m);
		const {incident} = JSON.parse(await readFile(path.join(stateDir, stack.projectName, 'current'), 'utf8')) as {incident: string};
		const timeline = await readFile(path.join(stateDir, stack.projectName, 'incidents', incident, 'timeline.jsonl'), 'utf8');
		const complete = timeline.split('\n').filter(Boolean).map(l => JSON.parse(l) as {type: string; data: Record<string, unknown>}).filter(e => e.type === 'verify_complete').at(-1)!;
		assert.equal(complete.data['interrupted'], true);
		assert.equal(complete.data['verified'], false);
		assert.ok((complete.data['checks'] as Array<{status: string}>).some(c => c.status === 'pass'), 'what passed before the stop is there');
	});
});

test('a bad --window is one line, exit 2', async () => {
	const result = await runCli(['verify', '--window', 'soon', '--project-dir', tmpdir()]);
	assert.equal(result.exitCode, 2);
	assert.equal(result.stderr, 'rollback-console: --window "soon": expected a duration from 1s to 24h, such as 5m, 90s or 1m30s\n');
});
