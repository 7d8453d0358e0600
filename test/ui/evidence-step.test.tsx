import assert from 'node:assert/strict';
import {readFile, stat} from 'node:fs/promises';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import {progressBar} from '../../source/presentation/progress.js';
import {App} from '../../source/ui/app.js';
import {fakeModel, frameWhere, serviceRow, type FakeEvidenceItem, type FakeModel} from '../support/fake-model.js';
import {mountApp} from '../support/mount-app.js';

const size = {columns: 100, rows: 32};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function gate() {
	let open!: () => void;
	const promise = new Promise<void>(resolve => (open = resolve));
	return {promise, open};
}

async function mount(options: {evidence?: FakeEvidenceItem[]; readOnly?: boolean; evidencePlanError?: string} = {}) {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web', {state: 'restarting', ok: false, exitCode: 2})], ...options});
	const {ui, frame, press} = mountApp(fake, {size, logRedrawMs: 0, cleanups});
	await frame(f => f.includes('Checklist'));
	await press('j');
	await press('\r');
	return {fake, ui, frame, press};
}

test('the step shows what will be collected and its size, runs with a progress bar, then the bundle and what failed', async () => {
	const held = gate();
	const {fake, frame, press} = await mount({
		evidence: [
			{file: 'compose/config.json', text: '{"services":{"web":{"environment":{"DB_PASSWORD":"pw"}}}}'},
			{file: 'containers/shop-web-1/log.txt', what: 'full log of shop-web-1', text: 'postgres://app:pw@db/app\n', gate: held.promise, estimate: 2_500_000},
			{file: 'ci/ci.log', text: '', error: 'HTTP 404'},
		],
	});
	const plan = await frame(f => f.includes('Will collect'));
	assert.match(plan, /Step 2 · Capture evidence/);
	assert.match(plan, /Will collect 3 items, about 2\.5 MB:/);
	assert.match(plan, /compose: the resolved config, ps, version/);
	assert.match(plan, /1 container: inspect, health-check history, full log with timestamps \(newest 25 MiB each\)/);
	assert.match(plan, /no CI log \(headless: rollback-console capture --ci-log FILE\|URL\)/);
	assert.match(plan, /Secrets are redacted/);
	assert.match(plan, /enter: capture {2}p: look again {2}esc: back {2}q: quit/);
	assert.doesNotMatch(plan, /Not available/);

	await press('\r');
	const running = await frame(f => f.includes('Capturing [') && f.includes('2/3 items'));
	assert.match(running, /Capturing \[[█░]+\] 2\/3 items/);
	assert.match(running, /… full log of shop-web-1/, 'the item still running is named');
	assert.match(running, /✗ ci\/ci\.log: HTTP 404/, 'a failure shows as it happens');
	assert.match(running, /esc: cancel the capture/);

	held.open();
	const done = await frame(f => f.includes('Bundle'));
	assert.match(done, /! Captured 2 of 3 items, .* · 1 failed/);
	assert.match(done, /✗ ci\/ci\.log: HTTP 404/);
	assert.match(done, /Redacted 2 values \((secret-env 1, url-credentials 1|url-credentials 1, secret-env 1)\)/);
	assert.match(done, /Bundle {2}.*evidence-shop-.*\.tar\.gz/);
	assert.match(done, /enter: capture again/);

	// The timeline has the capture and the step is done; the bundle is on disk, 0600.
	const events = fake.model.timeline.events();
	const complete = events.find(e => e.type === 'evidence_capture_complete')!;
	assert.equal(complete.step, 'evidence');
	assert.equal((await stat(String(complete.data['bundle']))).mode & 0o777, 0o600);
	assert.match(await readFile(`${String(complete.data['bundle'])}.sha256`, 'utf8'), /^[0-9a-f]{64} {2}evidence-shop-.*\.tar\.gz\n$/);
	assert.deepEqual(events.filter(e => e.type === 'step_status' && e.step === 'evidence').map(e => e.data['status']), ['in-progress', 'done']);

	await press('\u001B');
	const main = await frame(f => f.includes('Checklist'));
	assert.match(main, /2 Capture evidence/);
	// Opening it again shows the last capture.
	await press('\r');
	assert.match(await frame(f => f.includes('Last capture')), /Last capture \d\d:\d\d UTC by tester: 3 items, 1 failed · .*evidence-shop-/);
});

test('esc while it runs cancels it: the capture says it is incomplete', async () => {
	const held = gate();
	const {fake, frame, press} = await mount({evidence: [{file: 'a.txt', text: 'a\n'}, {file: 'slow.txt', text: 'b\n', gate: held.promise}]});
	await frame(f => f.includes('Will collect'));
	await press('\r');
	await frame(f => f.includes('1/2 items'));
	await press('\u001B');
	const cancelled = await frame(f => f.includes('cancelled'));
	assert.match(cancelled, /✗ cancelled: capture interrupted: .* is incomplete/);
	assert.match(cancelled, /enter: capture again/);
	held.open();
	assert.ok(fake.model.timeline.events().some(e => e.type === 'evidence_capture_interrupted'));
	assert.ok(!fake.model.timeline.events().some(e => e.type === 'evidence_capture_complete'));
});

test('read-only: capturing is allowed, and the step says why', async () => {
	const {frame, press} = await mount({readOnly: true});
	const plan = await frame(f => f.includes('Will collect'));
	assert.match(plan, /read-only: capturing is allowed: it changes nothing on the box/);
	await press('\r');
	await frame(f => f.includes('Bundle'));
});

test('when the plan cannot be made, the step says why and can look again', async () => {
	const {frame} = await mount({evidencePlanError: 'no Docker Engine at unix:///var/run/docker.sock'});
	assert.match(await frame(f => f.includes('Could not look')), /Could not look at what to collect \(p: look again\): no Docker Engine at unix:/);
});

test('a short terminal keeps the title and the keys', async () => {
	const fake = await fakeModel({services: [serviceRow('web')]});
	const ui = render(<App model={fake.model} size={{columns: 80, rows: 16}} color={false} logRedrawMs={0} />);
	cleanups.push(async () => {
		ui.unmount();
		await (fake.model.timeline as unknown as {settled(): Promise<void>}).settled();
		fake.cleanup();
	});
	await frameWhere(ui.lastFrame, f => f.includes('Checklist'));
	ui.stdin.write('j');
	await sleep(30);
	ui.stdin.write('\r');
	const frame = await frameWhere(ui.lastFrame, f => f.includes('Will collect'));
	assert.match(frame, /Step 2 · Capture evidence/);
	assert.match(frame, /enter: capture/);
	assert.match(frame, /lines 1–\d+ of \d+ · PgUp\/PgDn/, 'the frame says which lines show, and how to see the rest');
	assert.ok(frame.split('\n').length <= 15, `fits: ${frame.split('\n').length} rows`);
});

test('progress bar', () => {
	assert.equal(progressBar(0, 4, 8), '[░░░░░░░░]');
	assert.equal(progressBar(2, 4, 8), '[████░░░░]');
	assert.equal(progressBar(4, 4, 8), '[████████]');
	assert.equal(progressBar(0, 0, 4), '[░░░░]');
});
