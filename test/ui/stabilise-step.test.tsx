import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import {buildCandidates} from '../../source/incident/stabilise/releases.js';
import {releaseLines, releaseServices} from '../../source/incident/stabilise/release-services.js';
import {buildPlan, type RollbackPlan} from '../../source/incident/stabilise/plan.js';
import {parseSettings} from '../../source/incident/settings.js';
import type {RunView, StabiliseModel, StabilisePrepared} from '../../source/ui/stabilise-model.js';
import {StabiliseStep} from '../../source/ui/steps/stabilise/stabilise-step.js';
import {fakeModel, frameWhere} from '../support/fake-model.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});
const tick = () => new Promise(resolve => setTimeout(resolve, 30));
const d = (c: string) => `sha256:${c.repeat(64)}`;

const release = releaseServices(parseSettings(null), {web: 'r/app:${IMAGE_TAG}', worker: 'r/app:${IMAGE_TAG}'}, {web: {image: 'r/app:v1.4.0'}, worker: {image: 'r/app:v1.4.0'}});

function plan(tag: string): RollbackPlan {
	return buildPlan({
		kind: 'rollback',
		now: Date.parse('2026-11-22T03:12:09Z'),
		project: {workingDir: '/srv/shop', files: ['/srv/shop/compose.yaml'], name: 'shop'},
		projectName: 'shop',
		argv: (p, args) => ['docker', 'compose', '--project-directory', p.workingDir, '-f', p.files[0]!, '-p', 'shop', ...args],
		release,
		persist: 'env',
		current: {web: {tag: 'v1.4.0', digest: d('4'), imageId: 'i140', ok: false}, worker: {tag: 'v1.4.0', digest: d('4'), imageId: 'i140', ok: true}},
		previousValue: 'v1.4.0',
		target: {
			requested: tag,
			tag,
			pinned: null,
			pinReason: null,
			value: tag,
			services: {
				web: {reference: `r/app:${tag}`, digest: d('9'), local: false, imageId: null},
				worker: {reference: `r/app:${tag}`, digest: d('9'), local: false, imageId: null},
			},
			skipPull: null,
			verified: tag === 'v1.3.9',
			verifiedAt: null,
			migrationHead: null,
		},
		envFile: {path: '/srv/shop/.env', text: 'IMAGE_TAG=v1.4.0\n'},
		override: null,
		incidentEvents: [],
		shellHasVariable: false,
		// v1.3.8 went bad here once: the box rolled back from it.
		targetRolledBackFrom: tag === 'v1.3.8' ? {time: '2026-11-21T04:05:00Z', user: 'bob', incident: '20261121-040000-beef'} : null,
	});
}

const candidates = buildCandidates({
	records: [
		{time: '2026-11-20T00:00:00Z', event: 'verified', tag: 'v1.3.9', digests: {web: d('9')}, imageIds: {}, migrationHead: null, operator: null},
		{time: '2026-11-21T04:05:00Z', event: 'rolled_back', tag: 'v1.3.8', digests: {web: d('8')}, imageIds: {}, migrationHead: null, operator: {user: 'bob', ssh: null, pid: 1}, incident: '20261121-040000-beef'},
	],
	registryTags: ['v1.3.8', 'v1.3.9', 'v1.4.0'],
	local: [],
	currentTag: 'v1.4.0',
});

function fakeStabilise(options: {latest?: RunView | null; lock?: StabilisePrepared['lock']} = {}) {
	const started: RollbackPlan[] = [];
	let progress: ((run: RunView) => void) | null = null;
	let finish: ((run: RunView) => void) | null = null;
	const api: StabiliseModel = {
		async prepare(to) {
			const tag = to ?? 'v1.3.9';
			return {
				plan: plan(tag),
				error: null,
				candidates,
				current: 'v1.4.0',
				lastKnownGood: 'v1.3.9',
				registryProblem: null,
				lock: options.lock ?? {state: 'free'},
				release: {shape: release.shape, lines: releaseLines(release), error: null},
			};
		},
		async start(p) {
			started.push(p);
			return {runId: 'run-1', kind: 'rollback', from: 'v1.4.0', to: p.to.tag, running: true, pid: 4242, output: '', result: null};
		},
		async latest() {
			return options.latest ?? null;
		},
		follow(_runId, onProgress) {
			progress = onProgress;
			return new Promise(resolve => (finish = resolve));
		},
		async takeLock() {
			return {ok: true, message: 'this console holds the project now'};
		},
	};
	return {api, started, progress: (run: RunView) => progress?.(run), finish: (run: RunView) => finish?.(run)};
}

/** The step over a fake model and `stabilise`, once its plan shows. */
async function mountStep(stabilise: ReturnType<typeof fakeStabilise>) {
	const fake = await fakeModel();
	fake.model.stabilise = stabilise.api;
	const ui = render(<StabiliseStep model={fake.model} rows={30} columns={140} active onClose={() => {}} onQuit={() => {}} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	await frameWhere(ui.lastFrame, f => f.includes('Roll back to'));
	return ui;
}

/** Types the tag into the confirmation and presses enter. */
async function typeTag(ui: Awaited<ReturnType<typeof mountStep>>, tag: string) {
	for (const c of tag) ui.stdin.write(c);
	await tick();
	ui.stdin.write('\r');
}

test('the plan: candidates with the last known good marked, per-service change, commands, the .env diff and the warnings', async () => {
	const fake = await fakeModel();
	const stabilise = fakeStabilise();
	fake.model.stabilise = stabilise.api;
	const ui = render(<StabiliseStep model={fake.model} rows={30} columns={140} active onClose={() => {}} onQuit={() => {}} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	const frame = await frameWhere(ui.lastFrame, f => f.includes('Roll back to'));
	assert.match(frame, /current v1\.4\.0 · last known good v1\.3\.9/);
	assert.match(frame, /release: a shared tag variable \(\$\{IMAGE_TAG\}\)/);
	assert.match(frame, /web: its image's tag is \$\{IMAGE_TAG\}/);
	assert.match(frame, /›● ★ v1\.3\.9\s+last known good, verified/);
	assert.match(frame, /v1\.4\.0\s+current/);
	assert.match(frame, /web\s+v1\.4\.0\s+444444444444 → v1\.3\.9\s+999999999999\s+to pull/);
	// Every command whole, wrapped across rows: the frame read without its borders and breaks.
	const unwrapped = frame.split('\n').map(row => row.replace(/^│ ?/, '').replace(/ *│$/, '')).join(' ').replace(/\s+/g, ' ');
	assert.match(unwrapped, /\$ IMAGE_TAG=v1\.3\.9 docker compose --project-directory \/srv\/shop -f \/srv\/shop\/compose\.yaml -p shop pull --policy always web worker/);
	assert.match(unwrapped, /-p shop up -d then wait up to 60 s, as up --wait does: every service running, healthy where it has a healthcheck/);
	assert.match(frame, /-IMAGE_TAG=v1\.4\.0/);
	assert.match(frame, /\+IMAGE_TAG=v1\.3\.9/);
	assert.match(frame, /! evidence not captured yet/);
});

test('typing the target tag runs it; a wrong tag runs nothing; the worker\'s output and result follow', async () => {
	const stabilise = fakeStabilise();
	const ui = await mountStep(stabilise);
	ui.stdin.write('\r');
	await frameWhere(ui.lastFrame, f => f.includes('Type v1.3.9 and Enter'));
	await typeTag(ui, 'v1.3.8');
	await frameWhere(ui.lastFrame, f => f.includes('not v1.3.9: nothing runs'));
	assert.equal(stabilise.started.length, 0);
	for (let i = 0; i < 6; i++) ui.stdin.write('\u007F');
	await tick();
	await typeTag(ui, 'v1.3.9');
	await frameWhere(ui.lastFrame, f => f.includes('running in worker pid 4242'));
	assert.equal(stabilise.started.length, 1);
	assert.equal(stabilise.started[0]!.to.tag, 'v1.3.9');
	stabilise.progress({runId: 'run-1', kind: 'rollback', from: 'v1.4.0', to: 'v1.3.9', running: true, pid: 4242, output: ' web Pulled\n', result: null});
	await frameWhere(ui.lastFrame, f => f.includes('web Pulled'));
	stabilise.finish({
		runId: 'run-1',
		kind: 'rollback',
		from: 'v1.4.0',
		to: 'v1.3.9',
		running: false,
		pid: 4242,
		output: ' web Pulled\n» rollback to v1.3.9 complete in 3.1 s\n',
		result: {runId: 'run-1', kind: 'rollback', success: true, duration: 3100, from: 'v1.4.0', to: 'v1.3.9', message: null, failedCommand: null, failedService: null, logs: [], checks: [], durable: {file: null, backup: null}, finishedAt: ''},
	});
	const done = await frameWhere(ui.lastFrame, f => f.includes('✓ rollback to v1.3.9 complete in 3.1 s'));
	assert.match(done, /release services run it and are healthy/);
	assert.match(done, /Next: 6 Verify — health, smoke checks and the error rate over the window/);
});

test('read-only: the holder is named and Enter runs nothing', async () => {
	const fake = await fakeModel({readOnly: true});
	fake.model.readOnlyReason = 'locked by alice (ssh from 203.0.113.5, pid 77 on prod-1) since 2026-11-22 03:10 UTC: rollback to v1.3.9 (worker)';
	const stabilise = fakeStabilise({lock: {state: 'held', holder: {user: 'alice', ssh: null, pid: 77, processStart: 1, since: '', what: 'x', host: 'prod-1'}}});
	fake.model.stabilise = stabilise.api;
	const ui = render(<StabiliseStep model={fake.model} rows={30} columns={160} active onClose={() => {}} onQuit={() => {}} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	const frame = await frameWhere(ui.lastFrame, f => f.includes('Roll back to'));
	assert.match(frame, /read-only: locked by alice .*pid 77/);
	ui.stdin.write('\r');
	// The refusal says why (the line is cut at the edge).
	await frameWhere(ui.lastFrame, f => /^│ read-only \(locked by alice/m.test(f));
	assert.doesNotMatch(ui.lastFrame() ?? '', /Type v1\.3\.9/);
});

test('reopened while the worker runs: it is followed, not planned anew', async () => {
	const fake = await fakeModel();
	const stabilise = fakeStabilise({latest: {runId: 'run-0', kind: 'rollback', from: 'v1.4.0', to: 'v1.3.9', running: true, pid: 999, output: ' web Recreated\n', result: null}});
	fake.model.stabilise = stabilise.api;
	const ui = render(<StabiliseStep model={fake.model} rows={30} columns={140} active onClose={() => {}} onQuit={() => {}} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	const frame = await frameWhere(ui.lastFrame, f => f.includes('running in worker pid 999'));
	assert.match(frame, /web Recreated/);
	assert.match(frame, /closing the console does not stop it/);
});

test('a candidate from the project\'s GitHub releases shows the first line of its notes', async () => {
	const {candidateLine} = await import('../../source/ui/steps/stabilise/stabilise-lines.js');
	const [c] = buildCandidates({
		records: [],
		registryTags: null,
		local: [],
		currentTag: null,
		github: [{tag: 'v1.5.0', name: 'v1.5.0', publishedAt: '2026-11-20T09:00:00Z', note: 'Faster checkout', url: null, prerelease: false}],
	});
	assert.match(candidateLine(c!, false, false).text, /v1\.5\.0 .*GitHub: Faster checkout/);
});

test('after the run the plan is made again: the candidates as they stand now', async () => {
	const stabilise = fakeStabilise();
	const asked: Array<string | null> = [];
	const prepare = stabilise.api.prepare;
	stabilise.api.prepare = to => (asked.push(to), prepare(to));
	const ui = await mountStep(stabilise);
	ui.stdin.write('\r');
	await frameWhere(ui.lastFrame, f => f.includes('Type v1.3.9 and Enter'));
	await typeTag(ui, 'v1.3.9');
	await frameWhere(ui.lastFrame, f => f.includes('running in worker pid 4242'));
	assert.deepEqual(asked, [null]);
	stabilise.finish({runId: 'run-1', kind: 'rollback', from: 'v1.4.0', to: 'v1.3.9', running: false, pid: 4242, output: '', result: null});
	await frameWhere(ui.lastFrame, f => f.includes('the worker ended without a result'));
	for (let i = 0; i < 50 && asked.length < 2; i++) await tick();
	assert.deepEqual(asked, [null, null], 'planned again for the last known good');
});

test('a release this box rolled back from is marked in the list, and going to it needs its name and "again" typed', async () => {
	const stabilise = fakeStabilise();
	const ui = await mountStep(stabilise);
	let frame = ui.lastFrame()!;
	assert.match(frame, /v1\.3\.8\s+ROLLED BACK FROM 11-21 04:05 by bob/);
	ui.stdin.write('\u001B[B');
	frame = await frameWhere(ui.lastFrame, f => f.includes('Roll back to v1.3.8'));
	assert.match(frame.replace(/[│\n]/g, ' ').replace(/\s+/g, ' '), /v1\.3\.8 is a release this box ROLLED BACK FROM: 2026-11-21 04:05 UTC by bob in incident 20261121-040000-beef/);
	ui.stdin.write('\r');
	frame = await frameWhere(ui.lastFrame, f => f.includes('Type v1.3.8 again'));
	assert.match(frame, /v1\.3\.8 was ROLLED BACK FROM before/);
	await typeTag(ui, 'v1.3.8');
	await frameWhere(ui.lastFrame, f => f.includes('not v1.3.8 again: nothing runs'));
	assert.equal(stabilise.started.length, 0, 'the tag alone is not enough');
	await typeTag(ui, 'v1.3.8 again');
	await frameWhere(ui.lastFrame, () => stabilise.started.length === 1);
	assert.equal(stabilise.started[0]!.to.tag, 'v1.3.8');
});
