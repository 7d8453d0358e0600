import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises';
import {hostname, tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {pathToFileURL} from 'node:url';
import {promisify} from 'node:util';
import {ConsoleError} from '../../source/errors.js';
import {
	closeIncident,
	openIncident,
	recordStepStatus,
	stepStatuses,
	type OpenIncidentOptions,
} from '../../source/incident/incident-store.js';
import {currentOperator} from '../../source/incident/operator.js';
import type {TimelineEvent} from '../../source/incident/timeline.js';

const execFileAsync = promisify(execFile);
const operator = {...currentOperator({}), user: 'alice', sshConnection: '203.0.113.9 51234 203.0.113.1 22'};

let base = '';
let fallback = '';
before(async () => {
	base = await mkdtemp(join(tmpdir(), 'rc-incidents-'));
	fallback = join(base, 'tmpfs-fallback');
});
after(async () => {
	await rm(base, {recursive: true, force: true});
});

/** A fresh state dir; the fallback points into the temp dir so nothing touches /run. */
async function options(project = 'shop'): Promise<OpenIncidentOptions> {
	const stateDir = await mkdtemp(join(base, 'state-'));
	return {stateDir, project, operator, env: {ROLLBACK_CONSOLE_FALLBACK_DIR: fallback}};
}

const types = (events: readonly TimelineEvent[]) => events.map(event => event.type);
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('openIncident', () => {
	it('creates the incident layout, the current pointer and incident_opened', async () => {
		const opts = await options();
		const incident = await openIncident({...opts, now: () => Date.parse('2026-03-01T03:04:05.678Z')});
		assert.match(incident.id, /^20260301-030405-[0-9a-f]{4}$/);
		const projectDir = join(opts.stateDir, 'shop');
		assert.equal(incident.projectDir, projectDir);
		assert.equal(incident.dir, join(projectDir, 'incidents', incident.id));
		assert.equal(incident.openedAt, '2026-03-01T03:04:05.678Z');
		assert.equal(incident.resumed, false);
		assert.deepEqual((await readdir(incident.dir)).sort(), ['evidence', 'timeline.jsonl', 'worker']);
		for (const dir of [projectDir, join(projectDir, 'incidents'), incident.dir, join(incident.dir, 'evidence'), join(incident.dir, 'worker')]) {
			assert.equal(await mode(dir), 0o700, dir);
		}
		assert.equal(await mode(join(incident.dir, 'timeline.jsonl')), 0o600);
		assert.equal(await mode(join(projectDir, 'current')), 0o600);
		assert.deepEqual(JSON.parse(await readFile(join(projectDir, 'current'), 'utf8')), {
			incident: incident.id,
			openedAt: incident.openedAt,
		});
		const [opened, ...rest] = incident.timeline.events();
		assert.deepEqual(rest, []);
		assert.equal(opened?.type, 'incident_opened');
		assert.equal(opened?.seq, 1);
		assert.equal(opened?.data['project'], 'shop');
		assert.equal(opened?.data['projectDir'], projectDir);
		assert.ok(!(await readdir(projectDir)).includes('current.lock'), 'the lock is released');
		assert.equal(incident.timeline.fellBack, false);
	});

	it('resumes the open incident and restores the checklist', async () => {
		const opts = await options();
		const first = await openIncident(opts);
		await recordStepStatus(first.timeline, 'scope', 'done');
		await recordStepStatus(first.timeline, 'evidence', 'in-progress');
		await recordStepStatus(first.timeline, 'evidence', 'failed', 'disk full');
		await recordStepStatus(first.timeline, 'stabilise', 'skipped', 'hotfix instead');

		const second = await openIncident({...opts, operator: {...operator, user: 'bob', pid: 999_999}});
		assert.equal(second.id, first.id);
		assert.equal(second.resumed, true);
		assert.equal(second.openedAt, first.openedAt);
		const events = second.timeline.events();
		assert.deepEqual(types(events), ['incident_opened', 'step_status', 'step_status', 'step_status', 'step_status', 'incident_resumed']);
		assert.equal(events.at(-1)?.operator.user, 'bob');
		const statuses = stepStatuses(events);
		assert.equal(statuses.scope.status, 'done');
		assert.deepEqual({...statuses.evidence, time: null}, {status: 'failed', reason: 'disk full', time: null});
		assert.equal(statuses.stabilise.status, 'skipped');
		assert.equal(statuses.stabilise.reason, 'hotfix instead');
		for (const step of ['database', 'disk', 'verify', 'follow-up'] as const) {
			assert.deepEqual(statuses[step], {status: 'not-started', reason: null, time: null});
		}
	});

	it('gives concurrent openers the same incident', async () => {
		const opts = await options();
		const incidents = await Promise.all(Array.from({length: 8}, () => openIncident(opts)));
		assert.equal(new Set(incidents.map(incident => incident.id)).size, 1);
		assert.equal(incidents.filter(incident => !incident.resumed).length, 1);
		assert.equal((await readdir(join(opts.stateDir, 'shop', 'incidents'))).length, 1);
		const reopened = await openIncident(opts);
		assert.equal(types(reopened.timeline.events()).filter(type => type === 'incident_opened').length, 1);
	});

	it('gives concurrent processes the same incident', async () => {
		const opts = await options();
		const store = pathToFileURL(join(import.meta.dirname, '../../source/incident/incident-store.ts')).href;
		const script = `
			const {openIncident} = await import(${JSON.stringify(store)});
			const operator = {user: 'p', uid: 0, host: 'h', sshConnection: null, pid: process.pid, sudoUser: null};
			const incident = await openIncident({stateDir: process.argv[1], project: 'shop', operator, env: {}});
			console.log(JSON.stringify({id: incident.id, resumed: incident.resumed}));
		`;
		const runs = await Promise.all(
			Array.from({length: 3}, () =>
				execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, opts.stateDir], {
					cwd: join(import.meta.dirname, '../..'),
				}),
			),
		);
		const results = runs.map(run => JSON.parse(run.stdout) as {id: string; resumed: boolean});
		assert.equal(new Set(results.map(result => result.id)).size, 1, JSON.stringify(results));
		assert.equal(results.filter(result => !result.resumed).length, 1);
	});

	it('opens a new incident once the current one is closed', async () => {
		const opts = await options();
		const first = await openIncident(opts);
		await closeIncident(first, {reason: 'verified v1.3.9'});
		assert.ok(!(await readdir(first.projectDir)).includes('current'), 'the pointer is cleared');
		assert.deepEqual(types(first.timeline.events()).slice(-1), ['incident_closed']);
		assert.equal(first.timeline.events().at(-1)?.data['reason'], 'verified v1.3.9');

		const second = await openIncident(opts);
		assert.notEqual(second.id, first.id);
		assert.equal(second.resumed, false);
		assert.deepEqual(JSON.parse(await readFile(join(second.projectDir, 'current'), 'utf8')).incident, second.id);
		assert.deepEqual(types(second.timeline.events()), ['incident_opened']);
	});

	it('opens a new incident when the pointer names a closed incident or a missing dir', async () => {
		const opts = await options();
		const first = await openIncident(opts);
		// Closed but the pointer left behind (a crash between the two writes).
		await first.timeline.append(null, 'incident_closed', {reason: 'crash test'});
		const second = await openIncident(opts);
		assert.notEqual(second.id, first.id);
		await rm(second.dir, {recursive: true});
		const third = await openIncident(opts);
		assert.notEqual(third.id, second.id);
		assert.equal(third.resumed, false);
	});

	it('treats an unreadable pointer as no open incident', async () => {
		const opts = await options();
		await mkdir(join(opts.stateDir, 'shop'), {recursive: true});
		await writeFile(join(opts.stateDir, 'shop', 'current'), '{"incident":"../../etc"}');
		const incident = await openIncident(opts);
		assert.equal(incident.resumed, false);
		assert.equal(incident.dir, join(opts.stateDir, 'shop', 'incidents', incident.id));
	});

	it('removes a lock older than 30 s', async () => {
		const opts = await options();
		const lock = join(opts.stateDir, 'shop', 'current.lock');
		await mkdir(join(opts.stateDir, 'shop'), {recursive: true});
		await writeFile(lock, JSON.stringify({pid: 1, host: 'elsewhere', user: 'carol', since: 'long ago'}));
		const old = new Date(Date.now() - 60_000);
		await utimes(lock, old, old);
		const started = Date.now();
		const incident = await openIncident(opts);
		assert.equal(incident.resumed, false);
		assert.ok(Date.now() - started < 5000);
		assert.ok(!(await readdir(join(opts.stateDir, 'shop'))).some(name => name.startsWith('current.lock')));
	});

	it('removes a fresh lock whose holder on this host is gone', async () => {
		const opts = await options();
		await mkdir(join(opts.stateDir, 'shop'), {recursive: true});
		// A pid that cannot be running: above the kernel's pid_max.
		const holder = {pid: 2 ** 22 + 1, host: hostname(), user: 'carol', since: new Date().toISOString()};
		await writeFile(join(opts.stateDir, 'shop', 'current.lock'), JSON.stringify(holder));
		const started = Date.now();
		await openIncident(opts);
		assert.ok(Date.now() - started < 5000);
	});

	it('refuses a project name that is not Compose', async () => {
		const opts = await options();
		await assert.rejects(openIncident({...opts, project: '../x'}), ConsoleError);
	});
});

describe('stepStatuses', () => {
	const event = (step: string | null, data: Record<string, unknown>, seq: number): TimelineEvent =>
		({time: `t${seq}`, seq, operator: {user: 'a', ssh: null, pid: 1}, step, type: 'step_status', data}) as TimelineEvent;

	it('defaults every step to not-started', () => {
		const statuses = stepStatuses([]);
		assert.deepEqual(Object.keys(statuses), ['scope', 'evidence', 'stabilise', 'database', 'disk', 'verify', 'follow-up']);
		assert.ok(Object.values(statuses).every(state => state.status === 'not-started'));
	});

	it('takes the latest valid status of each step', () => {
		const statuses = stepStatuses([
			event('verify', {status: 'in-progress'}, 1),
			event('verify', {status: 'done'}, 2),
			event('verify', {status: 'bogus'}, 3),
			event('nonsense', {status: 'done'}, 4),
			event(null, {status: 'done'}, 5),
			{...event('disk', {status: 'done'}, 6), type: 'note'},
		]);
		assert.deepEqual(statuses.verify, {status: 'done', reason: null, time: 't2'});
		assert.equal(statuses.disk.status, 'not-started');
	});
});
