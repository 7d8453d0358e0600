import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import {anon, diskModelOver, GB, world} from '../support/disk-world.js';
import {fakeModel, serviceRow, type FakeModel} from '../support/fake-model.js';
import {mountApp} from '../support/mount-app.js';

// ink-testing-library's terminal is 100 columns wide.
const size = {columns: 100, rows: 30};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

async function mount(options: {readOnly?: boolean} = {}) {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web')], ...options});
	const w = world();
	fake.model.disk = diskModelOver(w, `${fake.dir}/evidence`);
	const {ui, frame, press} = mountApp(fake, {size, cleanups});
	await frame(f => f.includes('Checklist'));
	for (let i = 0; i < 4; i++) await press('\u001B[B');
	await press('\r');
	await frame(f => f.includes('Step 5 · Free disk') && f.includes('Plan'));
	return {fake, w, ui, frame, press};
}

const events = (fake: FakeModel) => fake.model.timeline.events();

test('the Disk step draws usage against the threshold, the plan with sizes, and what is kept and why', async () => {
	const {frame, press} = await mount();
	const shown = await frame(f => f.includes('remove image'));
	assert.match(shown, /\/ +\/ +[█┃│░]{20} +85% +15 GB free of 100 GB over 80%/);
	assert.match(shown, /docker +\/var\/lib\/docker +same filesystem as \//);
	assert.match(shown, /Plan 3 safe \(about 6\.5 GB\) · 1 need a typed confirmation/);
	assert.match(shown, /› remove container +stray-job +500 MB/);
	assert.match(shown, /remove image +<none> dangling +4\.0 GB +dangling: no tag, no digest/);
	assert.match(shown, /remove image +….*\/shop\/app:v1\.3\.4 +2\.0 GB +release v1\.3\.4: verified/);
	assert.match(shown, /remove volume +a1b2c3d4e5f60+… +300 MB +typed · anonymous volume/);
	assert.doesNotMatch(shown, /remove image .*v1\.3\.9/);

	await press('k');
	const kept = await frame(f => f.includes('Kept, and why'));
	assert.match(kept, /volume +shop_dbdata +3\.0 GB *│\n│ +named volume dbdata of compose project shop, used by shop-db-1 \(exited\)/);
	assert.match(kept, /image +127\.0\.0\.1:5000\/shop\/app:v1\.3\.9 +1\.0 GB *│\n│ +the last known good release v1\.3\.9/);
	assert.match(kept, /image +127\.0\.0\.1:5000\/shop\/app:v1\.4\.0 +1\.0 GB *│\n│ +used by shop-web-1 \(running\)/);
	assert.match(kept, /container +shop-db-1 .*\n│ +exited container of compose project shop \(service db\): compose manages it/);
	await press('k');
	await frame(f => f.includes('Plan 3 safe'));
});

test('one action at a time: y runs it and records it; a volume needs its first 12 characters typed', async () => {
	const {fake, w, frame, press} = await mount();
	await frame(f => f.includes('› remove container'));
	await press('\r');
	await frame(f => f.includes('remove container stray-job? y/n — DELETE /containers/'));
	await press('n');
	await frame(f => !f.includes('y/n'));
	assert.deepEqual(w.state.calls, [], 'n runs nothing');

	await press('\r');
	await press('y');
	await frame(f => f.includes('Last run: 1 action, freed 500 MB'));
	assert.deepEqual(w.state.calls, ['container c3']);
	const action = events(fake).find(e => e.type === 'disk_action')!;
	assert.equal(action.step, 'disk');
	assert.deepEqual([action.data['action'], action.data['ok'], action.data['bytesFreed'], action.data['error']], ['remove-container', true, 0.5 * GB, null]);
	assert.ok(events(fake).some(e => e.type === 'disk_prune_complete' && e.data['freedBytes'] === 0.5 * GB));

	// The volume: last in the list.
	for (let i = 0; i < 5; i++) await press('\u001B[B');
	await frame(f => f.includes('› remove volume'));
	await press('\r');
	await frame(f => f.includes(`type ${anon.slice(0, 12)} to confirm`));
	for (const char of 'a1b2c3') await press(char, 10);
	await press('q', 10);
	await press('\r');
	await frame(f => f.includes('is not a1b2c3d4e5f6: nothing was run'));
	assert.deepEqual(w.state.calls, ['container c3'], 'a wrong confirmation runs nothing (and q was a letter)');
	await press('\r');
	for (const char of anon.slice(0, 12)) await press(char, 10);
	await press('\r');
	await frame(f => f.includes('Last run: 1 action, freed 300 MB'));
	assert.deepEqual(w.state.calls, ['container c3', `volume ${anon.slice(0, 12)}`]);
});

test('a runs every safe action in turn; back under the threshold the step is done', async () => {
	const {fake, w, frame, press} = await mount();
	await frame(f => f.includes('Plan 3 safe'));
	await press('a');
	await frame(f => f.includes('run the 3 safe actions, one at a time (about 6.5 GB)? y/n'));
	await press('y');
	const after = await frame(f => f.includes('Last run: 3 actions'));
	assert.match(after, /freed 6\.5 GB \(estimate 6\.5 GB\); free 15 GB → 22 GB/);
	assert.deepEqual(w.state.calls, ['container c3', 'image sha256:dangling', 'image sha256:old']);
	assert.match(after, /79%/);
	await frame(f => f.includes('nothing safe to remove'));
	for (let i = 0; i < 50 && !events(fake).some(e => e.type === 'step_status' && e.step === 'disk' && e.data['status'] === 'done'); i++) await sleep(20);
	assert.ok(events(fake).some(e => e.type === 'step_status' && e.step === 'disk' && e.data['status'] === 'done'));
	assert.equal(events(fake).filter(e => e.type === 'disk_action').length, 3);
});

test('read-only: the plan is shown, nothing runs', async () => {
	const {w, frame, press} = await mount({readOnly: true});
	await frame(f => f.includes('remove image'));
	await press('\r');
	await frame(f => f.includes('read-only'));
	await press('a');
	assert.deepEqual(w.state.calls, []);
	await press('\u001B');
	await frame(f => f.includes('Checklist'));
});

test('opened under the threshold, the step is done at once, with the figures (no ◐ left behind)', async () => {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web')]});
	const w = world();
	w.state.freed = 61 * GB; // 24 GB used of 100: 24% against 80%
	fake.model.disk = diskModelOver(w, `${fake.dir}/evidence`);
	const {frame, press} = mountApp(fake, {size, cleanups});
	await frame(f => f.includes('Checklist'));
	for (let i = 0; i < 4; i++) await press('\u001B[B');
	await press('\r');
	await frame(f => f.includes('Step 5 · Free disk') && f.includes('24%'));
	await frame(() => events(fake).some(e => e.step === 'disk' && e.type === 'step_status' && e.data['status'] === 'done'));
	const done = events(fake).findLast(e => e.step === 'disk' && e.type === 'step_status')!;
	assert.deepEqual(done.data, {status: 'done', reason: 'under the threshold: 24% used, threshold 80%'});
	await press('\u001B');
	await frame(f => /5 Free disk\s+●/.test(f));
});
