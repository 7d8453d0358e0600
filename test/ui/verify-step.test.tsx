import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {afterEach, test} from 'node:test';
import type {ContainerInfo, Engine, LogLine} from '../../source/engine/types.js';
import {createVerifyModel} from '../../source/console/verify-model.js';
import type {HealthProbe} from '../../source/incident/health.js';
import {parseSettings} from '../../source/incident/settings.js';
import type {LoadedProject} from '../../source/incident/status.js';
import type {VerifyOutside} from '../../source/incident/verify/run.js';
import {fakeModel, serviceRow, type FakeModel} from '../support/fake-model.js';
import {mountApp} from '../support/mount-app.js';

const size = {columns: 100, rows: 30};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});

const settings = parseSettings({
	release: {services: ['web', 'worker']},
	health: [{url: 'http://127.0.0.1:18080/health'}],
	verify: {window: '2s', health: {tries: 3, interval: '100ms'}, min_error_rate: 2},
});

const loaded: LoadedProject = {
	project: {workingDir: '/srv/shop', files: ['/srv/shop/compose.yaml'], name: null},
	name: 'shop',
	config: {
		name: 'shop',
		services: {
			web: {image: '127.0.0.1:5000/shop/app:v1.3.9', build: false, healthcheck: true, networkMode: 'host', environment: {}, volumes: []},
			worker: {image: '127.0.0.1:5000/shop/app:v1.3.9', build: false, healthcheck: false, networkMode: 'host', environment: {}, volumes: []},
		},
		volumes: {},
		extension: null,
	},
	settings,
};

function container(service: string, createdAgoMs: number): ContainerInfo {
	return {
		id: `${service}-id`, name: `shop-${service}-1`, project: 'shop', service, number: 1, state: 'running', health: service === 'web' ? 'healthy' : 'none',
		restartCount: 0, exitCode: null, oomKilled: false, startedAt: new Date(Date.now() - 1000).toISOString(), finishedAt: null,
		createdAt: new Date(Date.now() - createdAgoMs).toISOString(), image: '127.0.0.1:5000/shop/app:v1.3.9', imageId: 'sha256:app', labels: {},
	};
}

/** An in-memory box: two healthy services, a health URL answering `status`, `errors` error lines per log read. */
function outside(options: {status: number; errorLines?: number; createdAgoMs?: number}): VerifyOutside {
	const created = Date.now() - (options.createdAgoMs ?? 1000);
	const engine: Engine = {
		address: 'test',
		version: async () => ({version: '20.10', apiVersion: '1.41', os: 'linux', arch: 'amd64', kernel: ''}),
		projectContainers: async () => [container('web', Date.now() - created), container('worker', Date.now() - created)],
		recentEvents: async () => [],
		image: async id => ({id, repoTags: [], repoDigests: ['127.0.0.1:5000/shop/app@sha256:feed'], created: '', size: 1}),
		watchEvents: async () => {},
		followServiceLogs: async function* () {},
	};
	return {
		engine,
		async *containerLog(id): AsyncIterable<LogLine[]> {
			// Written a moment ago: never later than the moment the run reads up to.
			const now = new Date(Date.now() - 50).toISOString();
			const lines: LogLine[] = [{stream: 'stdout', time: now, text: 'level=info msg=ok'}];
			if (id === 'worker-id') for (let i = 0; i < (options.errorLines ?? 0); i++) lines.push({stream: 'stderr', time: now, text: 'level=error msg=boom'});
			yield lines;
		},
		probe: async (target): Promise<HealthProbe> => ({
			url: target.url, ok: target.expectStatus === options.status, status: options.status, expectStatus: target.expectStatus, latencyMs: 3,
			error: target.expectStatus === options.status ? null : `expected ${target.expectStatus}, got ${options.status}`, body: '', time: new Date().toISOString(),
		}),
		http: async () => ({status: 200, headers: {}, cookies: {}, body: '', url: '', latencyMs: 1, error: null}),
		env: {},
	};
}

async function mount(box: VerifyOutside) {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web'), serviceRow('worker')]});
	fake.model.verify = createVerifyModel(box, {loaded, stateDir: fake.dir, operator: {user: 'tester', host: 'prod-1', sshConnection: null, sudoUser: null} as never, incidentId: fake.model.incident.id, migrationHead: null, sampleMs: 200});
	const {frame, press} = mountApp(fake, {size, cleanups});
	await frame(f => f.includes('Checklist'));
	for (let i = 0; i < 5; i++) await press('\u001B[B');
	await press('\r');
	await frame(f => f.includes('Step 6 · Verify'));
	return {fake, frame, press};
}

/** The frame with wrapped rows joined back into one line each. */
const flat = (frame: string) => frame.replace(/ *│\n│ */g, ' ');

const events = (fake: FakeModel) => fake.model.timeline.events().filter(e => e.step === 'verify');

test('v runs the checks as live rows; a pass is recorded (timeline and releases.jsonl) and step 6 is done', async () => {
	const {fake, frame, press} = await mount(outside({status: 200, createdAgoMs: 0}));
	const before = await frame(f => f.includes('v starts the checks'));
	assert.match(before, /health URLs up to 3 tries 100ms apart; restarts and error rate watched over 2s/);
	await press('v');
	const live = await frame(f => f.includes('window') && f.includes('left of 2s'));
	assert.match(live, /✓ health http:\/\/127\.0\.0\.1:18080\/health — 200 in 3 ms \(try 1 of 3\)/);
	const done = await frame(f => f.includes('verified v1.3.9') && f.includes('worker '), 10_000);
	assert.match(done, /✓ services running, healthy, not crash-looping — all 2 running/);
	assert.match(done, /✓ error rate worker — 0\.0\/min/);
	assert.match(done, /worker +▁+ +│█ 0\.0\/min · baseline none · limit 2\.0\/min/);
	await frame(f => f.includes('v: verify again'));
	const types = events(fake).map(e => e.type);
	assert.deepEqual(types.filter(t => t !== 'action_start' && t !== 'action_result').slice(-4), ['step_status', 'verify_start', 'verify_complete', 'step_status']);
	assert.deepEqual(events(fake).filter(e => e.type === 'action_result').map(e => [e.data['action'], e.data['ok'], e.data['error']]), [['record-verified:v1.3.9', true, null]]);
	assert.equal(events(fake).at(-1)?.data['status'], 'done');
	assert.equal(events(fake).find(e => e.type === 'verify_complete')?.data['verified'], true);
	const records = readFileSync(path.join(fake.dir, 'shop', 'releases.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>);
	assert.equal(records.length, 1);
	assert.equal(records[0]!['event'], 'verified');
	assert.equal(records[0]!['tag'], 'v1.3.9');
	assert.deepEqual(records[0]!['digests'], {web: 'sha256:feed', worker: 'sha256:feed'});
});

test('a failing health URL and an error rate over the limit fail by name; nothing recorded; esc leaves the run going', async () => {
	const {fake, frame, press} = await mount(outside({status: 500, errorLines: 30, createdAgoMs: 0}));
	await press('v');
	await frame(f => f.includes('try 1 of 3'));
	await press('\u001B');
	await frame(f => f.includes('Checklist'));
	// The run goes on without the view; coming back shows where it stands.
	await new Promise(resolve => setTimeout(resolve, 300));
	assert.equal(fake.model.verify?.running(), true);
	await press('\r');
	const done = await frame(f => f.includes('not verified: the failing checks') && f.includes('v: verify again'), 10_000);
	assert.match(flat(done), /✗ health http:\/\/127\.0\.0\.1:18080\/health — http:\/\/127\.0\.0\.1:18080\/health: failed 3 tries 100ms apart \(last: expected 200, got 500\)/);
	assert.match(flat(done), /✗ error rate worker — worker: \d+\.\d error lines\/min, over the 2\.0\/min allowed without a baseline/);
	assert.match(done, /✓ error rate web/);
	const last = events(fake).at(-1)!;
	assert.equal(last.type, 'step_status');
	assert.equal(last.data['status'], 'failed');
	assert.match(String(last.data['reason']), /^not verified: .*got 500/);
	assert.ok(!events(fake).some(e => e.type === 'action_start'), 'nothing run on a fail');
	assert.throws(() => readFileSync(path.join(fake.dir, 'shop', 'releases.jsonl')), /ENOENT/);
});
