import assert from 'node:assert/strict';
import {existsSync, readFileSync} from 'node:fs';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import type {HealthProbe} from '../../source/incident/health.js';
import type {Timeline, TimelineEvent} from '../../source/incident/timeline.js';
import {App} from '../../source/ui/app.js';
import {scopeLayout} from '../../source/ui/steps/scope/scope-layout.js';
import {fakeModel, frameWhere, serviceRow, type FakeModel} from '../support/fake-model.js';

const size = {columns: 100, rows: 30};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const services = () => [
	serviceRow('web', {state: 'restarting', restartCount: 7, exitCode: 2, ok: false}),
	serviceRow('worker', {state: 'exited', restartCount: 0, exitCode: 137, ok: false}),
	serviceRow('db'),
];

const healthSettings = {health: [{url: 'http://127.0.0.1:8080/health'}, {url: 'http://127.0.0.1:8080/health/internal', headers: {Authorization: 'Bearer ${TOKEN}'}}]};

const probes: HealthProbe[] = [
	{url: 'http://127.0.0.1:8080/health', ok: true, status: 200, expectStatus: 200, latencyMs: 12, error: null, body: 'ok', time: '2026-11-22T03:00:01.000Z'},
	{
		url: 'http://127.0.0.1:8080/health/internal',
		ok: false,
		status: 503,
		expectStatus: 200,
		latencyMs: 48,
		error: 'expected 200, got 503',
		body: '{"db":"down"}',
		time: '2026-11-22T03:00:01.000Z',
	},
];

const logLines = (prefix: string, count: number) =>
	Array.from({length: count}, (_, i) => ({stream: 'stdout' as const, time: null, text: `${prefix} line ${i + 1}`}));

/** Counts model.probeHealth calls (the model is a plain object: the test may wrap it). */
function countProbes(fake: FakeModel): {calls: number} {
	const counter = {calls: 0};
	const original = fake.model.probeHealth;
	fake.model.probeHealth = signal => {
		counter.calls++;
		return original(signal);
	};
	return counter;
}

function mount(fake: FakeModel, options: {size?: {columns: number; rows: number}} = {}) {
	const ui = render(<App model={fake.model} size={options.size ?? size} color={false} />);
	cleanups.push(async () => {
		ui.unmount();
		// Appends still in flight must land before the test's directory is removed.
		await settled(fake);
	});
	const frame = (predicate: (frame: string) => boolean, timeoutMs?: number) => frameWhere(ui.lastFrame, predicate, timeoutMs);
	const press = async (keys: string, ms = 30) => {
		ui.stdin.write(keys);
		// Esc is only told from the start of an escape sequence after a short wait.
		await sleep(keys === '\u001B' ? 60 : ms);
	};
	const type = async (text: string) => {
		for (const char of text) await press(char, 15);
	};
	return {ui, frame, press, type};
}

async function openScope(ui: ReturnType<typeof mount>) {
	await ui.frame(f => f.includes('Checklist'));
	await ui.press('\r');
	return ui.frame(f => f.includes('Step 1 · Scope'));
}

/** Appends are fsync'd and queued: wait until every one asked for so far is on disk. */
const settled = (fake: FakeModel) => (fake.model.timeline as unknown as Timeline).settled();

const readTimeline = (fake: FakeModel): TimelineEvent[] =>
	readFileSync(fake.model.timeline.file, 'utf8')
		.split('\n')
		.filter(Boolean)
		.map(line => JSON.parse(line) as TimelineEvent);

const scopeEvents = (fake: FakeModel) => readTimeline(fake).filter(e => e.step === 'scope');

async function answer(ui: ReturnType<typeof mount>, keys: string) {
	for (const [i, key] of [...keys].entries()) {
		await ui.frame(f => f.includes(`${i + 1}/4 `));
		await ui.press(key);
	}
	await ui.frame(f => f.includes('Scope note'));
}

test('Scope end to end: failing services and their last 50 lines, health, the questions, a note, the decision, and it survives a reopen', async () => {
	const fake = await fakeModel({services: services(), settings: healthSettings, probes});
	cleanups.push(fake.cleanup);
	const counter = countProbes(fake);
	fake.model.logs.append('web', logLines('web', 80));
	const ui = mount(fake);
	let frame = await openScope(ui);

	// Failing services: name, state, exit code, restart count; the healthy one is not listed.
	frame = await ui.frame(f => f.includes('Failing services 2 of 3'));
	assert.match(frame, /› web\s+restarting\s+exit 2\s+restarts 7/);
	assert.match(frame, /\s{3}worker\s+exited\s+exit 137\s+restarts 0/);
	assert.doesNotMatch(frame, /\bdb\s+running/);

	// The selected service's newest lines fill the box; more arrive while it is open.
	frame = await ui.frame(f => /web line 80\s/.test(f));
	assert.match(frame, /last lines of web: \d+–50 of 50/);
	fake.model.logs.append('web', logLines('web late', 1));
	frame = await ui.frame(f => f.includes('web late line 1'));
	assert.doesNotMatch(frame, /web line 30\s/);

	// Scrolling all the way back stops at the 50th line from the end: the 51st is not kept.
	for (let i = 0; i < 60; i++) ui.ui.stdin.write('\u001B[A');
	frame = await ui.frame(f => /last lines of web: 1–\d+ of 50/.test(f));
	assert.match(frame, /│web line 32\s/);
	assert.doesNotMatch(frame, /web line 31\s/);
	for (let i = 0; i < 60; i++) ui.ui.stdin.write('\u001B[B');
	await ui.frame(f => f.includes('web late line 1'));

	// Tab switches to the next failing service's logs, and back.
	fake.model.logs.append('worker', logLines('worker', 3));
	await ui.press('\t');
	frame = await ui.frame(f => f.includes('last lines of worker: 1–3 of 3'));
	assert.match(frame, /› worker/);
	assert.match(frame, /worker line 3\s/);
	await ui.press('\t');
	await ui.frame(f => f.includes('› web'));

	// Health: probed on open; each URL with ✓/✗, status, latency, error. r probes again.
	frame = await ui.frame(f => f.includes('1 of 2 ok'));
	assert.match(frame, /✓ 200\s+12 ms\s+http:\/\/127\.0\.0\.1:8080\/health\s/);
	assert.match(frame, /✗ 503\s+48 ms\s+expected 200, got 503\s+http:\/\/127\.0\.0\.1:8080\/health\/internal/);
	assert.equal(counter.calls, 1);
	await ui.press('r');
	await ui.frame(() => counter.calls === 2);

	// The questions, one at a time.
	frame = await ui.frame(f => f.includes('1/4 Was the previous version stable in production?'));
	assert.match(frame, /y: yes {2}n: no {2}u: unsure/);
	await answer(ui, 'ynny');

	// The note: q is a letter here, backspace deletes, esc would skip.
	await ui.type('checkout 500s, quick fix in review');
	await ui.type('X');
	await ui.press('\u007F');
	frame = await ui.frame(f => f.includes('> checkout 500s, quick fix in review '));
	assert.ok(!frame.includes('reviewX'));
	await ui.press('\r');

	// The recommendation: a fix in under 30 minutes → hotfix.
	frame = await ui.frame(f => f.includes('Recommendation: HOTFIX'));
	assert.match(frame, /under 30 minutes/);
	assert.match(frame, /Next: 2 Capture evidence; ship the fix, then 6 Verify/);
	assert.match(frame, /enter: accept {2}b: roll back {2}h: hotfix/);
	// r means "probe again" here too, as everywhere: it decides nothing.
	const probesBefore = counter.calls;
	await ui.press('r');
	await ui.frame(() => counter.calls === probesBefore + 1);
	assert.match(await ui.frame(f => f.includes('Recommendation')), /Recommendation: HOTFIX/);
	await ui.press('\r');

	frame = await ui.frame(f => f.includes('Decision: HOTFIX') && f.includes('c: change'));
	assert.match(frame, /Note: checkout 500s, quick fix in review/);
	assert.match(frame, /Next: 2 Capture evidence; ship the fix, then 6 Verify/);
	assert.match(frame, /c: change/);

	// The timeline, as written to disk.
	await settled(fake);
	const events = scopeEvents(fake);
	assert.deepEqual(
		events.map(e => e.type),
		['step_status', 'scope_answer', 'scope_answer', 'scope_answer', 'scope_answer', 'scope_note', 'scope_decision', 'step_status'],
	);
	assert.deepEqual(events[0]!.data, {status: 'in-progress'});
	assert.deepEqual(
		events.filter(e => e.type === 'scope_answer').map(e => [e.data['question'], e.data['answer']]),
		[
			['previous-stable', 'yes'],
			['migration', 'no'],
			['security', 'no'],
			['quick-fix', 'yes'],
		],
	);
	assert.deepEqual(events[5]!.data, {text: 'checkout 500s, quick fix in review'});
	const decision = events[6]!.data;
	assert.equal(decision['decision'], 'hotfix');
	assert.equal(decision['overridden'], false);
	assert.equal(decision['note'], 'checkout 500s, quick fix in review');
	assert.deepEqual(decision['answers'], {'previous-stable': 'yes', migration: 'no', security: 'no', 'quick-fix': 'yes'});
	assert.ok(Array.isArray(decision['reasons']) && decision['reasons'].length > 0);
	assert.deepEqual(decision['failing'], [
		{service: 'web', state: 'restarting', exitCode: 2, restartCount: 7},
		{service: 'worker', state: 'exited', exitCode: 137, restartCount: 0},
	]);
	assert.equal((decision['health'] as unknown[]).length, 2);
	assert.deepEqual(events[7]!.data, {status: 'done'});

	// Esc goes back to the checklist, which shows Scope done.
	await ui.press('\u001B');
	frame = await ui.frame(f => f.includes('Checklist'));
	assert.match(frame, /1 Scope\s+●/);
	ui.ui.unmount();

	// Reopened later, on the same timeline: Scope is done and shows the recorded decision.
	const again = await fakeModel({services: services(), settings: healthSettings, probes, dir: fake.dir});
	const ui2 = mount(again);
	frame = await ui2.frame(f => f.includes('Checklist'));
	assert.match(frame, /1 Scope\s+●/);
	await ui2.press('\r');
	frame = await ui2.frame(f => f.includes('Decision: HOTFIX'));
	assert.match(frame, /recorded \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC by tester/);
	assert.match(frame, /Note: checkout 500s, quick fix in review/);
	assert.match(frame, /Next: 2 Capture evidence; ship the fix, then 6 Verify/);
	assert.ok(!frame.includes('1/4 '), 'a recorded decision is not asked again');
	// Opening a done step records nothing new.
	await sleep(50);
	assert.equal(scopeEvents(again).length, 8);
});

test('overriding the recommendation records the operator\'s choice and says it was overridden', async () => {
	const fake = await fakeModel({services: services(), settings: healthSettings, probes});
	cleanups.push(fake.cleanup);
	const ui = mount(fake);
	await openScope(ui);
	await answer(ui, 'ynnn');
	// Esc while typing the note skips it: the step stays open.
	await ui.type('abc');
	await ui.press('\u001B');
	let frame = await ui.frame(f => f.includes('Recommendation: ROLL BACK'));
	assert.match(frame, /No fix within 30 minutes/);
	assert.match(frame, /no note/);
	await ui.press('h');
	frame = await ui.frame(f => f.includes('Decision: HOTFIX') && f.includes('c: change'));
	assert.match(frame, /\(overridden\)/);
	assert.match(frame, /Operator chose a hotfix over the recommended rollback/);
	assert.match(frame, /Next: 2 Capture evidence; ship the fix, then 6 Verify/);

	await settled(fake);
	const events = scopeEvents(fake);
	assert.equal(events.filter(e => e.type === 'scope_note').length, 0);
	const decision = events.find(e => e.type === 'scope_decision')!.data;
	assert.equal(decision['decision'], 'hotfix');
	assert.equal(decision['recommended'], 'rollback');
	assert.equal(decision['overridden'], true);
	assert.equal(decision['note'], '');
	assert.deepEqual(events.at(-1)!.data, {status: 'done'});
});

test('unsure → roll back, with the Database step first when the migration is in doubt; c changes it later', async () => {
	const fake = await fakeModel({services: services(), settings: healthSettings, probes});
	cleanups.push(fake.cleanup);
	const ui = mount(fake);
	await openScope(ui);
	// Backspace goes back a question; the later answer is the one that counts.
	await ui.frame(f => f.includes('1/4 '));
	await ui.press('y');
	await ui.frame(f => f.includes('2/4 '));
	await ui.press('\u007F');
	await ui.frame(f => f.includes('1/4 '));
	await answer(ui, 'yuny');
	await ui.press('\r');
	let frame = await ui.frame(f => f.includes('Recommendation: ROLL BACK'));
	assert.match(frame, /When unsure, roll back \(unsure: migration since\)/);
	assert.match(frame, /A migration may have run since: step 4 Database checks it first/);
	assert.match(frame, /Next: 2 Capture evidence, then 3 Stabilise/);
	await ui.press('\r');
	frame = await ui.frame(f => f.includes('Decision: ROLL BACK') && f.includes('c: change'));
	assert.match(frame, /Next: 2 Capture evidence, then 3 Stabilise/);
	await settled(fake);
	const first = scopeEvents(fake).find(e => e.type === 'scope_decision')!.data;
	assert.equal(first['decision'], 'rollback');
	assert.equal(first['overridden'], false);
	assert.equal(scopeEvents(fake).filter(e => e.type === 'scope_answer').length, 5);

	// c re-asks; the new decision replaces the shown one.
	await ui.press('c');
	frame = await ui.frame(f => f.includes('1/4 '));
	assert.match(frame, /Decision: ROLL BACK · recorded .* · changing it below/);
	await answer(ui, 'ynny');
	await ui.press('\r');
	await ui.frame(f => f.includes('Recommendation: HOTFIX'));
	await ui.press('\r');
	await ui.frame(f => f.includes('Decision: HOTFIX') && f.includes('c: change'));
	await settled(fake);
	assert.equal(scopeEvents(fake).filter(e => e.type === 'scope_decision').length, 2);
});

test('questions resume where they stopped when Scope is closed and reopened', async () => {
	const fake = await fakeModel({services: services(), settings: healthSettings, probes});
	cleanups.push(fake.cleanup);
	const ui = mount(fake);
	await openScope(ui);
	await ui.frame(f => f.includes('1/4 '));
	// Two keys faster than a redraw are two answers.
	ui.ui.stdin.write('y');
	ui.ui.stdin.write('n');
	await ui.frame(f => f.includes('3/4 '));
	// The answers are on disk (fsync'd) before the operator walks away.
	await settled(fake);
	await ui.press('\u001B');
	await ui.frame(f => f.includes('Checklist'));
	await ui.press('\r');
	const frame = await ui.frame(f => f.includes('3/4 Did this deploy introduce a security issue?'));
	assert.match(frame, /⌫: previous/);
});

test('no health URL configured: says how to add one, and probes nothing', async () => {
	const fake = await fakeModel({services: services()});
	cleanups.push(fake.cleanup);
	const counter = countProbes(fake);
	const ui = mount(fake);
	await openScope(ui);
	const frame = await ui.frame(f => f.includes('no URL configured'));
	assert.match(frame, /add to the Compose file:/);
	assert.match(frame, /^│\s+x-rollback-console:\s+│$/m);
	assert.match(frame, /^│\s+health:\s+│$/m);
	assert.match(frame, /^│\s+- url: http:\/\/127\.0\.0\.1:8080\/health\s+│$/m);
	await ui.press('r');
	assert.equal(counter.calls, 0);
});

test('nothing failing: says so, and the questions still come', async () => {
	const fake = await fakeModel({services: [serviceRow('web'), serviceRow('db')], settings: healthSettings, probes});
	cleanups.push(fake.cleanup);
	const ui = mount(fake);
	await openScope(ui);
	const frame = await ui.frame(f => f.includes('none: all 2 running') && f.includes('1/4 '));
	assert.doesNotMatch(frame, /last lines of/);
});

test('read-only shows everything but asks and records nothing', async () => {
	// A decision recorded earlier, by someone with write access.
	const writer = await fakeModel({services: services()});
	cleanups.push(writer.cleanup);
	await writer.model.timeline.append('scope', 'scope_decision', {
		decision: 'rollback',
		reasons: ['No fix within 30 minutes: roll back to the previous, stable version.'],
		answers: {'previous-stable': 'yes', migration: 'no', security: 'no', 'quick-fix': 'no'},
		note: 'web down',
		overridden: false,
	});
	await writer.model.timeline.append('scope', 'step_status', {status: 'done'});
	const before = readTimeline(writer).length;

	const fake = await fakeModel({services: services(), settings: healthSettings, probes, readOnly: true, dir: writer.dir});
	const ui = mount(fake);
	await openScope(ui);
	let frame = await ui.frame(f => f.includes('read-only: the decision cannot be recorded') && f.includes('1 of 2 ok'));
	assert.match(frame, /Decision: ROLL BACK · recorded/);
	assert.match(frame, /Note: web down/);
	assert.match(frame, /› web\s+restarting\s+exit 2\s+restarts 7/);
	assert.doesNotMatch(frame, /c: change/);
	for (const key of ['c', 'y', 'n', 'u', '\r', 'h']) await ui.press(key);
	frame = ui.ui.lastFrame() ?? '';
	assert.ok(!frame.includes('1/4 '));
	await settled(fake);
	assert.equal(readTimeline(fake).length, before);

	// And with nothing recorded yet: no questions either.
	const empty = await fakeModel({services: services(), readOnly: true});
	cleanups.push(empty.cleanup);
	const ui2 = mount(empty);
	await openScope(ui2);
	frame = await ui2.frame(f => f.includes('read-only: the decision cannot be recorded'));
	await ui2.press('y');
	assert.ok(!(ui2.ui.lastFrame() ?? '').includes('1/4 '));
	await settled(empty);
	// Read-only writes nothing at all: not even the step's "in progress".
	assert.equal(existsSync(empty.model.timeline.file), false);
});

test('at 80×24 every frame fits: no line wider than 80, nothing taller than the terminal', async () => {
	const fake = await fakeModel({services: [...services(), serviceRow('api', {state: 'running', health: 'unhealthy', ok: false, restartCount: 3})]});
	cleanups.push(fake.cleanup);
	fake.model.logs.append('web', logLines(`web ${'x'.repeat(120)}`, 60));
	const small = {columns: 80, rows: 24};
	const ui = mount(fake, {size: small});
	const check = (frame: string) => {
		const lines = frame.split('\n');
		assert.ok(lines.length <= small.rows - 1, `${lines.length} lines:\n${frame}`);
		for (const line of lines) assert.ok([...line].length <= small.columns, `too wide (${[...line].length}): ${line}`);
	};
	check(await openScope(ui));
	check(await ui.frame(f => f.includes('1/4 ') && f.includes('x-rollback-console')));
	await answer(ui, 'yyyn');
	await ui.type('a note that is much longer than the terminal is wide, typed at three in the morning by a tired operator');
	check(await ui.frame(f => f.includes('tired operator')));
	await ui.press('\r');
	check(await ui.frame(f => f.includes('Recommendation: ROLL BACK')));
	await ui.press('\r');
	const frame = await ui.frame(f => f.includes('Decision: ROLL BACK') && f.includes('c: change'));
	check(frame);
	assert.match(frame, /Next: 2 Capture evidence, then 3 Stabilise/);
	assert.match(frame, /web x+/);
});

test('a busy box at 80×24 still fits: many failing services, many health URLs', async () => {
	const many = Array.from({length: 6}, (_, i) => serviceRow(`svc-${i + 1}`, {state: 'exited', exitCode: i, ok: false}));
	const urls = Array.from({length: 5}, (_, i) => ({url: `http://127.0.0.1:${8080 + i}/health`}));
	const fake = await fakeModel({services: many, settings: {health: urls}, probes: urls.map((u, i) => ({...probes[1]!, url: u.url, latencyMs: i}))});
	cleanups.push(fake.cleanup);
	fake.model.logs.append('svc-6', logLines('six', 10));
	const ui = mount(fake, {size: {columns: 80, rows: 24}});
	await openScope(ui);
	let frame = await ui.frame(f => f.includes('0 of 5 ok') && f.includes('1/4 '));
	assert.ok(frame.split('\n').length <= 23, frame);
	assert.match(frame, /Failing services 6 of 6 · tab: next/);
	assert.match(frame, /0 of 5 ok · \d not shown/);
	// Tab past the rows shown: the selected service scrolls into view.
	for (let i = 0; i < 5; i++) await ui.press('\t');
	frame = await ui.frame(f => f.includes('› svc-6'));
	assert.match(frame, /six line 10\s/);
	assert.ok(frame.split('\n').length <= 23, frame);
});

test('scopeLayout never hands out negative rows, and the logs get what is left', () => {
	const want = {top: 0, reasons: 0, interaction: 2, failing: 2, health: 2, snippet: false, message: 0};
	assert.deepEqual(scopeLayout(25, want), {serviceRows: 2, healthRows: 2, snippetFull: false, logRows: 10, logBox: 'full', reasonRows: 0});
	for (let rows = 1; rows <= 40; rows++) {
		for (const variant of [want, {...want, snippet: true, health: 0}, {...want, top: 4, reasons: 3, failing: 9, interaction: 6, message: 1}]) {
			const layout = scopeLayout(rows, variant);
			for (const value of Object.values(layout)) if (typeof value === 'number') assert.ok(value >= 0, `${rows}: ${JSON.stringify(layout)}`);
		}
	}
	// No failing service: no logs at all.
	assert.equal(scopeLayout(30, {...want, failing: 0}).logBox, 'none');
});
