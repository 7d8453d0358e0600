// The worker with literal tags: the Compose file is pinned before the pull (compose pulls what
// the files name), put back when the pull fails, and never written over someone's later edit.
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import type {ComposeCommands, ComposeRun, ContainerInfo, Engine, ImageInfo} from '../../source/engine/types.js';
import {acquireLock, holderFor} from '../../source/incident/project-lock.js';
import {releaseServices} from '../../source/incident/stabilise/release-services.js';
import {buildPlan} from '../../source/incident/stabilise/plan.js';
import {editComposeImages} from '../../source/incident/stabilise/compose-image-edit.js';
import {runWorker, type WorkerJob} from '../../source/incident/stabilise/run.js';
import {parseSettings} from '../../source/incident/settings.js';

const dirs: string[] = [];
after(() => dirs.forEach(d => rmSync(d, {recursive: true, force: true})));
const d = (c: string) => `sha256:${c.repeat(64)}`;
const operator = {user: 'alice', sshConnection: null, host: os.hostname()};
const compose = '# keep me\nservices:\n  web:\n    image: r/app:v1.4.0 # the release\n';

async function run({pullExit = 0, editedMeanwhile = false} = {}) {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-run-literal-'));
	dirs.push(dir);
	const stack = path.join(dir, 'stack');
	const state = path.join(dir, 'state', 'shop');
	for (const p of [stack, state]) mkdirSync(p, {recursive: true});
	const file = path.join(stack, 'compose.yaml');
	writeFileSync(file, compose);
	const release = releaseServices(parseSettings(null), {web: 'r/app:v1.4.0'}, {web: {image: 'r/app:v1.4.0'}}, {tagCount: () => 2});
	const plan = buildPlan({
		kind: 'rollback',
		now: Date.now(),
		project: {workingDir: stack, files: [file], name: 'shop'},
		projectName: 'shop',
		argv: (_p, args) => ['docker-compose', ...args],
		release,
		persist: 'env',
		current: {web: {tag: 'v1.4.0', digest: d('4'), imageId: 'i140', ok: false}},
		previousValue: null,
		target: {
			requested: 'v1.3.9',
			tag: 'v1.3.9',
			pinned: null,
			pinReason: null,
			value: 'v1.3.9',
			services: {web: {reference: `r/app@${d('9')}`, digest: d('9'), local: true, imageId: 'i139'}},
			skipPull: null,
			verified: true,
			verifiedAt: null,
			migrationHead: null,
		},
		envFile: {path: path.join(stack, '.env'), text: null},
		override: null,
		composeFiles: [{path: file, text: compose}],
		editImages: editComposeImages,
		incidentEvents: [],
		shellHasVariable: false,
	});
	if (editedMeanwhile) writeFileSync(file, `${compose}# someone's edit\n`);
	const lock = (await acquireLock(state, holderFor(operator, 'rollback'))).holder;
	const job: WorkerJob = {version: 1, runId: 'run-1', plan, timelineFile: path.join(dir, 'timeline.jsonl'), projectDir: state, incident: 'inc', operator, lockFrom: lock, returnLockTo: null};
	const seen: string[] = [];
	const commands: ComposeCommands = {
		argv: (_p, args) => args,
		rawImages: async () => ({}),
		configWith: async () => {
			throw new Error('not used');
		},
		async stream(_project, args): Promise<ComposeRun> {
			seen.push(`${args[0]} with ${readFileSync(file, 'utf8').includes(`r/app:v1.3.9@${d('9')}`) ? 'the pin' : 'the old file'}`);
			const exitCode = args[0] === 'pull' ? pullExit : 0;
			return {argv: args, exitCode, stdout: '', stderr: exitCode ? 'manifest unknown\n' : '', ms: 5};
		},
		logTail: async () => [],
	};
	const image: ImageInfo = {id: 'i139', repoTags: [], repoDigests: [`r/app@${d('9')}`], created: '', size: 1};
	const web: ContainerInfo = {
		id: 'w', name: 'shop-web-1', project: 'shop', service: 'web', number: 1, state: 'running', health: 'none', restartCount: 0, exitCode: null,
		oomKilled: false, startedAt: null, finishedAt: null, createdAt: '', image: `r/app:v1.3.9@${d('9')}`, imageId: 'i139', labels: {},
	};
	const engine = {projectContainers: async () => [web], image: async (ref: string) => (ref === `r/app@${d('9')}` ? image : null)} as unknown as Engine;
	const result = await runWorker(job, {compose: commands, engine: async () => engine}, () => {});
	return {plan, result, seen, file, stack, text: readFileSync(file, 'utf8')};
}

test('the pin is written before the pull, the previous file kept, only the image value changed', async () => {
	const r = await run();
	assert.equal(r.result.success, true, r.result.message ?? '');
	assert.deepEqual(r.seen, ['pull with the pin', 'up with the pin']);
	assert.equal(r.text, compose.replace('r/app:v1.4.0 #', `r/app:v1.3.9@${d('9')} #`));
	const backups = readdirSync(r.stack).filter(f => f.startsWith('compose.yaml.bak-'));
	assert.deepEqual(backups.map(b => readFileSync(path.join(r.stack, b), 'utf8')), [compose]);
});

test('a failed pull puts the Compose file back as it was', async () => {
	const r = await run({pullExit: 1});
	assert.equal(r.result.success, false);
	assert.match(r.result.message ?? '', /pull failed: manifest unknown/);
	assert.deepEqual(r.seen, ['pull with the pin']);
	assert.equal(r.text, compose);
});

test('a Compose file edited since the plan is not written over', async () => {
	const r = await run({editedMeanwhile: true});
	assert.equal(r.result.success, false);
	assert.match(r.result.message ?? '', /compose\.yaml changed since the plan was made; nothing was written/);
	assert.deepEqual(r.seen, []);
	assert.equal(r.text, `${compose}# someone's edit\n`);
});
