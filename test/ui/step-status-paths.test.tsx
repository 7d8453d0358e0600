// One domain loop for both paths: the console (the App, driving the same domain functions
// its model calls) and the headless command record the same `step_status` sequence for the
// Evidence, Disk and Stabilise steps, on success and on failure.
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, test} from 'node:test';
import {captureHeadless} from '../../source/commands/capture.js';
import {runPrune} from '../../source/commands/disk.js';
import {createStabiliseModel} from '../../source/console/stabilise-model.js';
import type {ComposeProject} from '../../source/engine/types.js';
import type {GatheredDisk, DiskOutside} from '../../source/incident/disk/gather.js';
import {beginStep, openIncident, type Incident} from '../../source/incident/incident-store.js';
import {readResult} from '../../source/incident/stabilise/launch.js';
import {buildPlan, type RollbackPlan} from '../../source/incident/stabilise/plan.js';
import {releaseServices} from '../../source/incident/stabilise/release-services.js';
import {latestRun, startRun} from '../../source/incident/stabilise/runs.js';
import {acquireLock, holderFor} from '../../source/incident/project-lock.js';
import {parseSettings} from '../../source/incident/settings.js';
import type {StepId, TimelineEvent} from '../../source/incident/timeline.js';
import {diskModelOver, world} from '../support/disk-world.js';
import {mountApp} from '../support/mount-app.js';
import {ROOT} from '../support/stack.js';
import {fakeEvidencePlan, fakeModel, serviceRow, type FakeEvidenceItem} from '../support/fake-model.js';

const size = {columns: 100, rows: 30};
const operator = {user: 'tester', uid: process.getuid?.() ?? 0, host: os.hostname(), sshConnection: null, sudoUser: null, pid: process.pid};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const statuses = (events: readonly TimelineEvent[], step: StepId) =>
	events.filter(e => e.type === 'step_status' && e.step === step).map(e => [e.data['status'], e.data['reason'] ?? null]);

function tempDir(name: string, under = os.tmpdir()): string {
	mkdirSync(under, {recursive: true});
	const dir = mkdtempSync(path.join(under, `rc-paths-${name}-`));
	cleanups.push(() => rmSync(dir, {recursive: true, force: true}));
	return dir;
}

/** A fresh incident the way a headless command opens one. */
async function headlessIncident(): Promise<Incident> {
	return openIncident({stateDir: tempDir('state'), project: 'shop', operator, env: {ROLLBACK_CONSOLE_FALLBACK_DIR: tempDir('fallback')}});
}

/** Runs `work` with stdout and stderr swallowed: the commands print their results there. */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
	const out = process.stdout.write.bind(process.stdout);
	const err = process.stderr.write.bind(process.stderr);
	process.stdout.write = (() => true) as typeof process.stdout.write;
	process.stderr.write = (() => true) as typeof process.stderr.write;
	try {
		return await work();
	} finally {
		process.stdout.write = out;
		process.stderr.write = err;
	}
}

async function mountConsole(fake: Awaited<ReturnType<typeof fakeModel>>) {
	const mounted = mountApp(fake, {size, cleanups});
	await mounted.frame(f => f.includes('Checklist'));
	return mounted;
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
	for (const start = Date.now(); !check(); await sleep(20)) {
		if (Date.now() - start > timeoutMs) throw new Error('timed out');
	}
}

for (const [name, evidence, expected] of [
	['all items captured', undefined, [['in-progress', null], ['done', null]]],
	['an item fails', [{file: 'engine/info.json', error: 'engine gone'}, {file: 'compose/config.json', text: '{}'}], [['in-progress', null], ['done', '1 of 2 items failed']]],
] as const) {
	test(`Evidence (${name}): the console and \`capture\` record the same step_status sequence`, async () => {
		const items = evidence as FakeEvidenceItem[] | undefined;
		const fake = await fakeModel({services: [serviceRow('web')], ...(items ? {evidence: items} : {})});
		const {frame, press} = await mountConsole(fake);
		await press('j');
		await press('\r');
		await frame(f => f.includes('Will collect'));
		await press('\r');
		await frame(f => f.includes('Bundle'));
		await until(() => statuses(fake.model.timeline.events(), 'evidence').length === 2);
		const console = statuses(fake.model.timeline.events(), 'evidence');

		const incident = await headlessIncident();
		const plan = fakeEvidencePlan(items ?? [{file: 'engine/info.json', text: '{}'}]);
		await quietly(() => captureHeadless(plan, {incident, operator, options: {redact: true, out: undefined, json: true}, signal: new AbortController().signal}));
		await incident.timeline.settled();
		const headless = statuses(incident.timeline.events(), 'evidence');

		assert.deepEqual(console, expected);
		assert.deepEqual(headless, console);
	});
}

for (const [name, failImage, expected] of [
	['back under the threshold', undefined, [['in-progress', null], ['done', null]]],
	['an action fails', 'sha256:old', [['in-progress', null], ['failed', '1 of 3 actions failed']]],
] as const) {
	test(`Disk (${name}): the console and \`disk prune\` record the same step_status sequence`, async () => {
		// The console: the step opened, every safe action confirmed with a and y.
		const fake = await fakeModel({services: [serviceRow('web')]});
		const w = world(failImage ? {failImage} : {});
		fake.model.disk = diskModelOver(w, `${fake.dir}/evidence`);
		const {frame, press} = await mountConsole(fake);
		for (let i = 0; i < 4; i++) await press('\u001B[B');
		await press('\r');
		await frame(f => f.includes('Plan 3 safe'));
		await press('a');
		await frame(f => f.includes('y/n'));
		await press('y');
		await frame(f => f.includes('Last run: 3 actions'));
		await until(() => statuses(fake.model.timeline.events(), 'disk').length === 2);
		const console = statuses(fake.model.timeline.events(), 'disk');

		// Headless: `disk prune --yes` on the same kind of box, from its plan's safe actions.
		const box = world(failImage ? {failImage} : {});
		const report = await box.gather();
		const stateDir = tempDir('state');
		const project = {workingDir: '/srv/shop', files: ['/srv/shop/compose.yaml'], name: 'shop'} as unknown as ComposeProject;
		await quietly(() =>
			runPrune(
				{json: true},
				{
					project,
					report,
					gathered: {engine: box.engine} as unknown as GatheredDisk,
					outside: {host: box.host} as unknown as DiskOutside,
					actions: report.plan.actions.filter(a => a.safe),
					operator,
					stateDir,
				},
			),
		);
		const incident = await openIncident({stateDir, project: 'shop', operator});
		const headless = statuses(incident.timeline.events(), 'disk');

		assert.deepEqual(console, expected);
		assert.deepEqual(headless, console);
	});
}

/** A rollback plan for a project whose Compose file is missing: the worker's first command fails. */
function brokenPlan(): RollbackPlan {
	// Inside the repository: run from source, the worker starts with `--import tsx` in the stack's directory.
	const stack = tempDir('stack', path.join(ROOT, 'node_modules', '.cache'));
	const release = releaseServices(parseSettings(null), {web: 'r/app:${IMAGE_TAG}'}, {web: {image: 'r/app:v1.4.0'}});
	const d = (c: string) => `sha256:${c.repeat(64)}`;
	return buildPlan({
		kind: 'rollback',
		now: Date.now(),
		project: {workingDir: stack, files: [path.join(stack, 'compose.yaml')], name: 'shop'},
		projectName: 'shop',
		argv: (_p: unknown, args: string[]) => ['docker', 'compose', ...args],
		release,
		persist: 'none',
		current: {web: {tag: 'v1.4.0', digest: d('4'), imageId: 'i140', ok: false}},
		previousValue: 'v1.4.0',
		target: {
			requested: 'v1.3.9',
			tag: 'v1.3.9',
			pinned: null,
			pinReason: null,
			value: 'v1.3.9',
			services: {web: {reference: 'r/app:v1.3.9', digest: d('9'), local: true, imageId: 'i139'}},
			skipPull: null,
			verified: true,
			verifiedAt: null,
			migrationHead: null,
		},
		envFile: null,
		override: null,
		incidentEvents: [],
		shellHasVariable: false,
	} as unknown as Parameters<typeof buildPlan>[0]);
}

async function workerDone(paths: Parameters<typeof readResult>[0]): Promise<void> {
	for (const start = Date.now(); !(await readResult(paths)); await sleep(100)) {
		if (Date.now() - start > 60_000) throw new Error('the worker left no result');
	}
}

test('Stabilise (the worker fails): the console and `rollback` record the same step_status sequence', async () => {
	// The console: it opens the incident and holds the project lock; opening the step starts
	// it; confirming runs the plan through the console model (startRun, the worker).
	const consoleState = tempDir('state');
	const projectDir = path.join(consoleState, 'shop');
	mkdirSync(projectDir, {recursive: true});
	const opened = await openIncident({stateDir: consoleState, project: 'shop', operator});
	const held = (await acquireLock(projectDir, holderFor(operator, 'console'))).holder;
	const model = createStabiliseModel({
		project: {workingDir: '/nonexistent', files: [], name: 'shop'} as unknown as ComposeProject,
		stateDir: consoleState,
		projectDir,
		operator,
		incidentDir: opened.dir,
		lock: {held},
		onLock: () => {},
	} as unknown as Parameters<typeof createStabiliseModel>[0]);
	await beginStep(opened.timeline, 'stabilise');
	const plan = brokenPlan();
	const started = await model.start(plan);
	const run = await model.latest();
	assert.equal(run?.runId, started.runId);
	await workerDone((await latestRun(projectDir))!.paths);
	await opened.timeline.refresh();
	const console = statuses(opened.timeline.events(), 'stabilise');

	// Headless: `rollback --yes` takes the lock and opens the incident in startRun.
	const headlessState = tempDir('state');
	const headlessProject = path.join(headlessState, 'shop');
	const launched = await startRun({plan, stateProjectDir: headlessProject, stateDir: headlessState, operator, held: null, takeOverStale: false});
	await workerDone(launched.paths);
	const incident = await openIncident({stateDir: headlessState, project: 'shop', operator});
	const headless = statuses(incident.timeline.events(), 'stabilise');

	assert.equal(console.length, 2, JSON.stringify(console));
	assert.equal(console[0]![0], 'in-progress');
	assert.equal(console[1]![0], 'failed');
	assert.deepEqual(
		headless.map(([status]) => status),
		console.map(([status]) => status),
	);
});
