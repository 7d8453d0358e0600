import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {ComposeProject} from '../../source/engine/types.js';
import {setEnvValue} from '../../source/incident/stabilise/env-file.js';
import {findVariable, releaseServices, tagFor, valueFor} from '../../source/incident/stabilise/release-services.js';
import {buildPlan, displayCommand, overridePath, planText, type PlanInput, type Target} from '../../source/incident/stabilise/plan.js';
import {parseRef} from '../../source/incident/stabilise/prepare.js';
import {parseSettings} from '../../source/incident/settings.js';
import {unifiedDiff} from '../../source/presentation/unified-diff.js';

const project: ComposeProject = {workingDir: '/srv/shop', files: ['/srv/shop/compose.yaml'], name: 'shop'};
const raw = {web: '127.0.0.1:5000/shop/app:${IMAGE_TAG:?set it}', worker: '127.0.0.1:5000/shop/app:${IMAGE_TAG}', db: 'postgres:16'};
const interpolated = {web: {image: '127.0.0.1:5000/shop/app:v1.4.0'}, worker: {image: '127.0.0.1:5000/shop/app:v1.4.0'}, db: {image: 'postgres:16'}};
const settings = parseSettings(null);
const release = releaseServices(settings, raw, interpolated);
const env = 'COMPOSE_PROJECT_NAME=shop\nIMAGE_TAG=v1.4.0\nWEB_PORT=8080\n';
const d = (c: string) => `sha256:${c.repeat(64)}`;

const target = (overrides: Partial<Target> = {}): Target => ({
	requested: 'v1.3.9',
	tag: 'v1.3.9',
	pinned: null,
	pinReason: null,
	value: 'v1.3.9',
	services: {
		web: {reference: '127.0.0.1:5000/shop/app:v1.3.9', digest: d('9'), local: true, imageId: 'sha256:i139'},
		worker: {reference: '127.0.0.1:5000/shop/app:v1.3.9', digest: d('9'), local: true, imageId: 'sha256:i139'},
	},
	skipPull: null,
	verified: true,
	verifiedAt: '2026-11-20T00:00:00Z',
	migrationHead: null,
	...overrides,
});

const input = (overrides: Partial<PlanInput> = {}): PlanInput => ({
	kind: 'rollback',
	now: Date.parse('2026-11-22T03:12:09Z'),
	project,
	projectName: 'shop',
	argv: (p, args) => ['/usr/libexec/docker/cli-plugins/docker-compose', '--project-directory', p.workingDir, ...p.files.flatMap(f => ['-f', f]), '-p', 'shop', ...args],
	release,
	persist: 'env',
	current: {
		web: {tag: 'v1.4.0', digest: d('4'), imageId: 'sha256:i140', ok: false},
		worker: {tag: 'v1.4.0', digest: d('4'), imageId: 'sha256:i140', ok: true},
	},
	previousValue: 'v1.4.0',
	target: target(),
	envFile: {path: '/srv/shop/.env', text: env},
	override: null,
	incidentEvents: [],
	shellHasVariable: false,
	...overrides,
});

test('the release services are the ones whose image uses the variable, however written', () => {
	assert.deepEqual(release.services, ['web', 'worker']);
	assert.deepEqual(release.repositories, ['127.0.0.1:5000/shop/app']);
	assert.ok(findVariable('app:$IMAGE_TAG', 'IMAGE_TAG'));
	assert.equal(findVariable('app:$$IMAGE_TAG', 'IMAGE_TAG'), null, '$$ is an escaped dollar');
	assert.equal(findVariable('app:${IMAGE_TAG_OLD}', 'IMAGE_TAG'), null);
	const prefixed = releaseServices(settings, {api: 'r/api:release-${IMAGE_TAG}'}, {api: {image: 'r/api:release-v2'}});
	assert.equal(tagFor(prefixed.templates['api']!, 'v3'), 'release-v3');
	assert.equal(valueFor(prefixed.templates['api']!, 'release-v3'), 'v3');
	assert.throws(() => releaseServices(settings, {api: '${IMAGE_TAG}/api:1'}, {api: {image: 'x/api:1'}}), /outside its tag/);
	assert.throws(() => releaseServices(settings, {db: 'postgres:16'}, {db: {image: 'postgres:16'}}), /no release services/);
	const listed = releaseServices(parseSettings({release: {services: ['worker']}}), raw, interpolated);
	assert.deepEqual(listed.services, ['worker']);
});

test('--to takes a tag or a sha256 digest, and nothing a shell would read', () => {
	assert.deepEqual(parseRef('v1.3.9'), {kind: 'tag', tag: 'v1.3.9'});
	assert.deepEqual(parseRef(d('a')), {kind: 'digest', digest: d('a')});
	for (const bad of ['v1.3.9; rm -rf /', '$(id)', 'v1`id`', 'a b', '', '-v1', 'x'.repeat(129), "v1'"]) {
		assert.throws(() => parseRef(bad), /not a tag or sha256 digest/, bad);
	}
	assert.throws(() => parseRef('sha256:ABC'), /64 lowercase hex/);
});

test('the plan: from → to per service, the exact commands with the variable set, the .env diff, warnings', () => {
	const plan = buildPlan(input({incidentEvents: []}));
	assert.deepEqual(plan.services.map(s => [s.service, s.from.tag, s.to.tag, s.to.local]), [
		['web', 'v1.4.0', 'v1.3.9', true],
		['worker', 'v1.4.0', 'v1.3.9', true],
	]);
	assert.deepEqual(plan.commands.map(c => c.args), [
		['pull', '--policy', 'always', 'web', 'worker'],
		['up', '-d'],
	]);
	// `up` runs without --wait and the worker waits itself (for the same, 60 s): shown as it runs, the wait in words under it.
	assert.equal(plan.commands[1]!.display, 'IMAGE_TAG=v1.3.9 docker compose --project-directory /srv/shop -f /srv/shop/compose.yaml -p shop up -d');
	assert.equal(plan.commands[1]!.wait?.timeoutMs, 60_000);
	assert.match(plan.commands[1]!.wait?.says ?? '', /^then wait up to 60 s, as up --wait does: every service running, healthy where it has a healthcheck/);
	assert.deepEqual(plan.commands[0]!.env, {IMAGE_TAG: 'v1.3.9'});
	assert.equal(
		plan.commands[0]!.display,
		'IMAGE_TAG=v1.3.9 docker compose --project-directory /srv/shop -f /srv/shop/compose.yaml -p shop pull --policy always web worker',
	);
	assert.equal(plan.durable.after, 'COMPOSE_PROJECT_NAME=shop\nIMAGE_TAG=v1.3.9\nWEB_PORT=8080\n');
	assert.equal(plan.durable.backup, '/srv/shop/.env.bak-20261122T031209Z');
	assert.equal(plan.durable.diff, '--- .env\n+++ .env\n@@ -1,3 +1,3 @@\n COMPOSE_PROJECT_NAME=shop\n-IMAGE_TAG=v1.4.0\n+IMAGE_TAG=v1.3.9\n WEB_PORT=8080\n');
	assert.deepEqual(plan.warnings.map(w => w.id), ['evidence']);
	const text = planText(plan);
	assert.match(text, /Roll back shop: v1\.4\.0 → v1\.3\.9/);
	assert.match(text, /! evidence not captured yet/);
});

test('warnings: unverified target, persist none, the variable exported in the shell; captured evidence clears its warning', () => {
	const captured = [{time: '', seq: 1, operator: {user: 'a', ssh: null, pid: 1}, step: 'evidence' as const, type: 'evidence_capture_complete', data: {}}];
	const plan = buildPlan(input({incidentEvents: captured, target: target({verified: false}), persist: 'none', shellHasVariable: true}));
	assert.deepEqual(plan.warnings.map(w => w.id), ['unverified', 'persist-none', 'shadowed-variable']);
	assert.equal(plan.durable.file, null);
	assert.equal(buildPlan(input({kind: 'deploy', target: target({verified: false})})).warnings.length, 0, 'a deploy is not an incident action');
});

test('pinned by digest: the variable carries tag@digest; the pull can be skipped with the reason said', () => {
	const plan = buildPlan(
		input({
			target: target({pinned: d('9'), value: `v1.3.9@${d('9')}`, pinReason: 'v1.3.9 was re-pushed', skipPull: 'registry down'}),
		}),
	);
	assert.match(plan.durable.after!, new RegExp(`^IMAGE_TAG=v1\\.3\\.9@${d('9')}$`, 'm'));
	assert.equal(plan.commands[0]!.skip, 'registry down');
	assert.deepEqual(plan.notes, ['skipping the pull: registry down', 'v1.3.9 was re-pushed']);
});

test('the current release as the target is refused; the same tag with other content is not', () => {
	const same = {
		web: {tag: 'v1.3.9', digest: d('9'), imageId: 'sha256:i139', ok: true},
		worker: {tag: 'v1.3.9', digest: d('9'), imageId: 'sha256:i139', ok: true},
	};
	assert.throws(() => buildPlan(input({current: same})), /v1\.3\.9 is the current release: web, worker already run it/);
	const other = {...same, web: {tag: 'v1.3.9', digest: d('8'), imageId: 'sha256:other', ok: true}};
	assert.doesNotThrow(() => buildPlan(input({current: other})));
});

test('persist: override pins the images in the auto-loaded override file, only one we wrote', () => {
	assert.equal(overridePath(project), '/srv/shop/compose.override.yaml');
	assert.equal(overridePath({...project, files: ['/srv/shop/a.yaml']}), null, 'compose was given the files: it would not load an override');
	const plan = buildPlan(input({persist: 'override', override: {path: '/srv/shop/compose.override.yaml', text: null, ours: false}}));
	assert.equal(plan.durable.file, '/srv/shop/compose.override.yaml');
	assert.match(plan.durable.after!, /web:\n {4}image: 127\.0\.0\.1:5000\/shop\/app@sha256:9{64}/);
	assert.ok(plan.project.files.includes('/srv/shop/compose.override.yaml'), 'the commands use it too');
	assert.throws(
		() => buildPlan(input({persist: 'override', override: {path: '/srv/shop/compose.override.yaml', text: 'services: {}\n', ours: false}})),
		/did not write/,
	);
	assert.throws(() => buildPlan(input({persist: 'override', override: null})), /persist: override needs/);
});

test('.env: the variable is replaced where it is (export kept) or appended; other lines untouched', () => {
	assert.equal(setEnvValue('A=1\nexport IMAGE_TAG="v1"\n# c\n', 'IMAGE_TAG', 'v2'), 'A=1\nexport IMAGE_TAG=v2\n# c\n');
	assert.equal(setEnvValue('A=1', 'IMAGE_TAG', 'v2'), 'A=1\nIMAGE_TAG=v2\n');
	assert.equal(setEnvValue('', 'IMAGE_TAG', 'v2'), 'IMAGE_TAG=v2\n');
	assert.equal(setEnvValue('IMAGE_TAG_OLD=1\n', 'IMAGE_TAG', 'v2'), 'IMAGE_TAG_OLD=1\nIMAGE_TAG=v2\n');
});

test('unified diff: hunks with context, new files from /dev/null, nothing for equal texts', () => {
	const before = Array.from({length: 12}, (_, i) => `line ${i + 1}`).join('\n') + '\n';
	const after = before.replace('line 2\n', 'line two\n').replace('line 11\n', 'line eleven\n');
	assert.equal(
		unifiedDiff(before, after, {from: 'a', to: 'b', context: 1}),
		'--- a\n+++ b\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+line two\n line 3\n@@ -10,3 +10,3 @@\n line 10\n-line 11\n+line eleven\n line 12\n',
	);
	assert.equal(unifiedDiff('', 'A=1\n', {from: '/dev/null', to: '.env'}), '--- /dev/null\n+++ .env\n@@ -0,0 +1,1 @@\n+A=1\n');
	assert.equal(unifiedDiff('same\n', 'same\n', {from: 'a', to: 'b'}), '');
});

test('commands are shown as an operator would type them, quoted where a shell needs it', () => {
	assert.equal(displayCommand(['docker', 'compose', '-f', '/srv/my stack/compose.yaml', 'up'], {IMAGE_TAG: 'v1'}), "IMAGE_TAG=v1 docker compose -f '/srv/my stack/compose.yaml' up");
});

test('going to a release this box rolled back from is warned about, naming when, who and the incident', () => {
	const captured = [{time: '', seq: 1, operator: {user: 'a', ssh: null, pid: 1}, step: 'evidence' as const, type: 'evidence_capture_complete', data: {}}];
	const plan = buildPlan(
		input({incidentEvents: captured, target: target({verified: false}), targetRolledBackFrom: {time: '2026-11-22T03:12:09Z', user: 'bob', incident: '20261122-030000-abcd'}}),
	);
	assert.deepEqual(plan.warnings.map(w => w.id), ['rolled-back']);
	assert.match(plan.warnings[0]!.text, /v1\.3\.9 is a release this box ROLLED BACK FROM: 2026-11-22 03:12 UTC by bob in incident 20261122-030000-abcd/);
});

test("the migration warning says what the Database step found for this target: additive or destructive, with the line", () => {
	const event = (data: Record<string, unknown>, time = '2026-11-22T03:14:00.000Z') => ({time, seq: 2, operator: {user: 'a', ssh: null, pid: 1}, step: 'database' as const, type: 'database_boundary', data});
	const captured = {time: '', seq: 1, operator: {user: 'a', ssh: null, pid: 1}, step: 'evidence' as const, type: 'evidence_capture_complete', data: {}};
	const destructive = event({target: 'v1.3.9', verdict: 'destructive', line: '1 migration since v1.3.9 (20261121_drop_total), DESTRUCTIVE (heuristic): restore a backup or step down before rolling back'});
	let plan = buildPlan(input({incidentEvents: [captured, destructive]}));
	assert.deepEqual(plan.warnings.map(w => w.id), ['migration']);
	assert.match(plan.warnings[0]!.text, /DESTRUCTIVE \(heuristic\).*\(Database step, 03:14 UTC\)$/);
	// Another target's finding says nothing about this one; nothing past the boundary is no warning.
	plan = buildPlan(input({incidentEvents: [captured, event({target: 'v1.3.8', verdict: 'destructive', line: 'x'})]}));
	assert.deepEqual(plan.warnings, []);
	plan = buildPlan(input({incidentEvents: [captured, event({target: 'v1.3.9', verdict: 'nothing-past', line: 'no migration since v1.3.9'})]}));
	assert.deepEqual(plan.warnings, []);
});

test('the wait after up: what each service of the project must come to, from the config the plan was made from', () => {
	const plan = buildPlan(input({incidentEvents: [], projectServices: {web: {dependsOn: {migrate: 'service_completed_successfully'}}, migrate: {}, worker: {}}}));
	assert.deepEqual(plan.commands[1]!.wait!.services, {web: 'running-or-healthy', migrate: 'completed', worker: 'running-or-healthy'});
});
