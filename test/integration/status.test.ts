import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';

let stack: Stack;

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9'});
	await stack.up({wait: true});
});
after(() => stack?.down());

interface ServiceRow {
	service: string;
	state: string;
	health: string;
	restartCount: number;
	exitCode: number | null;
	uptimeSeconds: number | null;
	image: {configured: string | null; tag: string | null; id: string | null; digest: string | null};
	containers: Array<Record<string, unknown>>;
	ok: boolean;
}

const status = async () => {
	const result = await runCli(['status', '--json', '--project-dir', stack.dir]);
	return {...result, json: JSON.parse(result.stdout) as {ok: boolean; project: string; services: ServiceRow[]}};
};

test('a healthy stack: every service running, exit 0, and the JSON shape the readme documents', async () => {
	const {exitCode, json, stderr} = await status();
	assert.equal(stderr, '');
	assert.equal(exitCode, 0);
	assert.equal(json.ok, true);
	assert.equal(json.project, stack.projectName);
	assert.deepEqual(Object.keys(json).sort(), ['checkedAt', 'engine', 'ok', 'project', 'services', 'workingDir']);
	assert.deepEqual(json.services.map(s => s.service).sort(), ['db', 'web', 'worker']);
	const web = json.services.find(s => s.service === 'web')!;
	assert.deepEqual(Object.keys(web).sort(), [
		'containers',
		'crashLoop',
		'exitCode',
		'health',
		'healthcheck',
		'image',
		'ok',
		'restartCount',
		'service',
		'state',
		'uptimeSeconds',
	]);
	assert.deepEqual(Object.keys(web.containers[0]!).sort(), [
		'createdAt',
		'exitCode',
		'health',
		'id',
		'name',
		'oomKilled',
		'restartCount',
		'startedAt',
		'state',
		'uptimeSeconds',
	]);
	assert.equal(web.state, 'running');
	assert.equal(web.health, 'healthy');
	assert.equal(web.image.tag, 'v1.3.9');
	assert.equal(web.image.configured, `127.0.0.1:5000/rct/app:v1.3.9`);
	assert.match(web.image.id ?? '', /^sha256:[0-9a-f]{64}$/);
	assert.match(web.image.digest ?? '', /^sha256:[0-9a-f]{64}$/, 'a pushed image has a repo digest');
	assert.equal(web.containers[0]!['name'], `${stack.projectName}-web-1`);
});

test('the table names every service and the summary says all is well', async () => {
	const {exitCode, stdout} = await runCli(['status', '--project-dir', stack.dir]);
	assert.equal(exitCode, 0);
	assert.match(stdout, /^SERVICE\s+STATE\s+HEALTH\s+RESTARTS\s+EXIT\s+UPTIME\s+TAG/m);
	assert.match(stdout, /all 3 services running and healthy/);
});

test('a crash-looping release: the broken service comes first, with restarts, exit code and tag; exit 1', async () => {
	await stack.setTag('v1.4.0');
	await stack.up();
	let web: ServiceRow | undefined;
	let last: Awaited<ReturnType<typeof status>> | undefined;
	for (let i = 0; i < 60; i++) {
		last = await status();
		web = last.json.services[0];
		if (web?.service === 'web' && web.restartCount >= 1 && web.exitCode === 2) break;
		await delay(500);
	}
	assert.ok(last);
	assert.equal(last.exitCode, 1);
	assert.equal(last.json.ok, false);
	assert.equal(web?.service, 'web', 'the failing service is listed first');
	assert.equal(web.state, 'crash-looping', 'restarted by its policy: a crash loop, whatever the moment');
	assert.ok(web.restartCount >= 1);
	assert.equal(web.exitCode, 2);
	assert.equal(web.image.tag, 'v1.4.0');
	assert.equal(web.ok, false);
});

test('a service without a container is reported missing', async () => {
	await stack.compose(['rm', '--stop', '--force', 'worker']);
	const {exitCode, json} = await status();
	assert.equal(exitCode, 1);
	const worker = json.services.find(s => s.service === 'worker')!;
	assert.equal(worker.state, 'missing');
	assert.deepEqual(worker.containers, []);
	assert.equal(worker.image.configured, '127.0.0.1:5000/rct/app:v1.4.0');
});

test('-f, -p and COMPOSE_PROJECT_NAME point at the same project from anywhere', async () => {
	const viaFlags = await runCli(['status', '--json', '-f', `${stack.dir}/compose.yaml`, '-p', stack.projectName], {cwd: '/'});
	assert.equal(JSON.parse(viaFlags.stdout).project, stack.projectName);
	const viaCwd = await runCli(['status', '--json'], {cwd: stack.dir});
	assert.equal(JSON.parse(viaCwd.stdout).project, stack.projectName, 'COMPOSE_PROJECT_NAME from the project .env');
});
