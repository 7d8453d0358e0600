// Step 7 in the console: the report rendered and scrollable, reminders ticked (recorded),
// notify and create-issue confirmed, then close — through a follow-up model over the real
// report builder and a real timeline; the gate asked before opening an incident.
import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import {buildReport} from '../../source/incident/follow-up/build-report.js';
import {unfinishedSteps, type CloseResult} from '../../source/incident/follow-up/close.js';
import {App} from '../../source/ui/app.js';
import {IncidentGateView, type GateAnswer} from '../../source/ui/incident-gate.js';
import {fakeModel, frameWhere, serviceRow, type FakeModel} from '../support/fake-model.js';

const size = {columns: 100, rows: 30};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

async function mount(options: {readOnly?: boolean} = {}) {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web')], ...options});
	const calls: string[] = [];
	await fake.model.timeline.append('stabilise', 'rollback_start', {runId: 'r1', from: 'v1.4.0', to: 'v1.3.9', services: [{service: 'web', from: {digest: 'sha256:aaaa1111bbbb2222'}, to: {digest: 'sha256:cccc3333dddd4444'}}]});
	await fake.model.timeline.append('stabilise', 'rollback_complete', {runId: 'r1', success: true, duration: 9000});
	fake.model.followUp = {
		notifyConfigured: true,
		issueConfigured: true,
		report: () => buildReport({incident: {id: fake.model.incident.id, project: 'shop'}, events: fake.model.timeline.events(), links: {github: null}}),
		plan: () => [],
		unfinished: events => unfinishedSteps(events),
		refusal: async () => null,
		notify: async (message, record) => {
			calls.push(`notify ${message}`);
			await record(null, 'notify_result', {channel: 'webhook', event: 'incident_update', ok: true});
			return {ok: true, line: 'webhook incident_update: sent (1 attempt)'};
		},
		createIssue: async (markdown, record) => {
			calls.push(`issue ${markdown.split('\n')[0]}`);
			await record('follow-up', 'issue_created', {url: 'https://github.example/o/r/issues/3'});
			return {ok: true, line: 'issue: https://github.example/o/r/issues/3', url: 'https://github.example/o/r/issues/3'};
		},
		close: async (record): Promise<CloseResult> => {
			calls.push('close');
			await record(null, 'incident_closed', {reason: 'closed by the operator'});
			return {report: '/x/report.md', bundle: {file: '/x/b.tar.gz', sha256: 'ab'.repeat(32), sidecar: '/x/b.tar.gz.sha256'}, issue: null, lines: ['report: /x/report.md', 'bundle: /x/b.tar.gz', 'incident closed'], failed: [], closed: true};
		},
	};
	const ui = render(<App model={fake.model} size={size} color={false} />);
	cleanups.push(async () => {
		ui.unmount();
		await sleep(50);
		fake.cleanup();
	});
	const frame = (predicate: (f: string) => boolean, timeoutMs?: number) => frameWhere(ui.lastFrame, predicate, timeoutMs);
	const press = async (keys: string, ms = 40) => {
		ui.stdin.write(keys);
		await sleep(ms);
	};
	await frame(f => f.includes('Checklist'));
	for (let i = 0; i < 6; i++) await press('\u001B[B');
	await press('\r');
	await frame(f => f.includes('Step 7 · Follow up') && f.includes('Reminders'));
	return {fake, frame, press, calls};
}

test('step 7 shows the rollback, the reminders and the report; a tick is recorded', async () => {
	const {fake, frame, press} = await mount();
	const shown = await frame(f => f.includes('report.md'));
	assert.match(shown, /Rolled back v1\.4\.0 → v1\.3\.9: completed in 9\.0 s/);
	assert.match(shown, /› \[ \] Re-run the pipeline's gates on the good tag/);
	assert.match(shown, /Verification: not verified/);
	await press('\u001B[B');
	await press(' ');
	await frame(f => /\[x\] Disable the feature flags/.test(f));
	assert.deepEqual(
		fake.model.timeline.events().filter(e => e.type === 'reminder').map(e => e.data),
		[{id: 'flags', done: true}],
	);
	// The report scrolls: its timeline table is further down.
	for (let i = 0; i < 6; i++) await press('\u001B[6~');
	await frame(f => /rollback_start/.test(f));
});

test('notify and create-issue are confirmed first; close ends the incident', async () => {
	const {fake, frame, press, calls} = await mount();
	await press('n');
	await frame(f => f.includes('send an incident update to the webhook? y/n'));
	await press('n');
	assert.deepEqual(calls, [], 'n at the question cancels');
	await press('n');
	await press('y', 100);
	await frame(f => f.includes('webhook incident_update: sent'));
	await press('i');
	await frame(f => f.includes('create the follow-up issue on GitHub'));
	await press('y', 100);
	await frame(f => f.includes('issue: https://github.example/o/r/issues/3'));
	assert.match(calls[1]!, /^issue # Incident /);
	await press('c');
	const asked = await frame(f => f.includes('steps not done'));
	assert.match(asked, /1\. Scope \(not-started\)/);
	await press('y', 150);
	await frame(f => f.includes('Incident closed') && f.includes('incident closed · bundle sha256 abababababab'));
	assert.deepEqual(calls.at(-1), 'close');
	assert.ok(fake.model.timeline.events().some(e => e.type === 'incident_closed'));
	await press(' ');
	await frame(f => f.includes('the incident is closed: nothing more to do here'));
});

test('read-only: nothing is recorded', async () => {
	const {fake, frame, press} = await mount({readOnly: true});
	await press(' ');
	await frame(f => /read-only/.test(f));
	assert.equal(fake.model.timeline.events().filter(e => e.type === 'reminder').length, 0);
});

test('the gate: a healthy stack says "no incident open"; a new problem offers n and c', async () => {
	const answers: GateAnswer[] = [];
	const none = render(<IncidentGateView project="shop" gate={{kind: 'none', text: 'no incident open: every service runs', openId: null, reason: null}} services={[serviceRow('web')]} onAnswer={a => answers.push(a)} />);
	assert.match(none.lastFrame()!, /● web +running/);
	assert.match(none.lastFrame()!, /no incident open: every service runs/);
	assert.match(none.lastFrame()!, /n: open an incident {2}q: quit/);
	none.stdin.write('c');
	await sleep(30);
	assert.equal(answers.length, 0, "c means nothing without an open incident");
	none.stdin.write('n');
	await sleep(30);
	assert.deepEqual(answers, ['new']);
	none.unmount();
	const text = 'the open incident 20261122-030000-ab12 is from 2 h ago; this looks like a new problem: shop-web-1 was created 3 min ago';
	const newer = render(<IncidentGateView project="shop" gate={{kind: 'new-problem', text, openId: '20261122-030000-ab12', reason: null}} services={[serviceRow('web', {state: 'restarting', ok: false, exitCode: 2})]} onAnswer={a => answers.push(a)} />);
	assert.match(newer.lastFrame()!, /✕ web +restarting exit 2/);
	assert.match(newer.lastFrame()!, /n: new incident {2}c: continue the open one {2}q: quit/);
	newer.stdin.write('c');
	await sleep(30);
	assert.deepEqual(answers, ['new', 'continue']);
	newer.unmount();
});
