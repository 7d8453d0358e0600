// Release services in the three shapes a Compose file names its release, the ambiguous
// projects refused with what to set, the literal shape's edit in place, and the plans.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {ComposeProject} from '../../source/engine/types.js';
import {editComposeImages} from '../../source/incident/stabilise/compose-image-edit.js';
import {usedOutsideImages} from '../../source/incident/stabilise/prepare.js';
import {buildPlan, OVERRIDE_MARKER, planText, type PlanInput, type Target} from '../../source/incident/stabilise/plan.js';
import {isThirdParty, literalRepositories, releaseServices, variablesIn} from '../../source/incident/stabilise/release-services.js';
import {parseSettings} from '../../source/incident/settings.js';

const settings = parseSettings(null);
const interpolate = (raw: Record<string, string>, values: Record<string, string>) =>
	Object.fromEntries(Object.entries(raw).map(([s, image]) => [s, {image: image.replace(/\$\{(\w+)[^}]*\}/g, (_m, name: string) => values[name] ?? '')}]));
const d = (c: string) => `sha256:${c.repeat(64)}`;

test('shape 3: the shared tag variable, configured or found, with why', () => {
	const raw = {web: 'r/app:${IMAGE_TAG:?set it}', worker: 'r/app:${IMAGE_TAG}', db: 'postgres:16'};
	const release = releaseServices(settings, raw, interpolate(raw, {IMAGE_TAG: 'v2'}));
	assert.equal(release.shape, 'tag-variable');
	assert.deepEqual(release.services, ['web', 'worker']);
	assert.equal(release.why['web'], "its image's tag is ${IMAGE_TAG}");
	// Another name, shared by the services: found without configuration.
	const other = {api: '127.0.0.1:5000/o/api:${APP_VERSION}', web: '127.0.0.1:5000/o/web:${APP_VERSION}'};
	const found = releaseServices(settings, other, interpolate(other, {APP_VERSION: '1.0.0'}));
	assert.equal(found.shape, 'tag-variable');
	assert.equal(found.variable, 'APP_VERSION');
	assert.deepEqual(found.repositories, ['127.0.0.1:5000/o/api', '127.0.0.1:5000/o/web']);
});

test('shape 2: one variable per service holding the whole reference', () => {
	const raw = {api: '${API_IMAGE:?set API_IMAGE}', worker: '$WORKER_IMAGE', web: '${WEB_IMAGE}', cache: 'redis:7'};
	const values = {API_IMAGE: 'reg.example/o/api@' + d('a'), WORKER_IMAGE: 'reg.example/o/worker:v1@' + d('b'), WEB_IMAGE: 'reg.example/o/web:v1'};
	const interpolated = {...interpolate(raw, values), worker: {image: values.WORKER_IMAGE}};
	const release = releaseServices(settings, raw, interpolated);
	assert.equal(release.shape, 'image-variable');
	assert.deepEqual(release.services, ['api', 'web', 'worker']);
	assert.deepEqual(release.variables, {api: 'API_IMAGE', web: 'WEB_IMAGE', worker: 'WORKER_IMAGE'});
	assert.deepEqual(release.repositories, ['reg.example/o/api', 'reg.example/o/web', 'reg.example/o/worker']);
	assert.equal(release.why['worker'], 'its whole image is ${WORKER_IMAGE}');
	assert.throws(() => releaseServices(settings, {api: '${API_IMAGE}'}, {api: {image: null}}), /API_IMAGE\} is not set/);
});

test('shape 1: literal images whose repository has several release tags; third-party ones are not the release', () => {
	const raw = {backend: 'ghcr.io/org/app:0.3.0', frontend: 'ghcr.io/org/front:0.3.0', db: 'postgres:15', proxy: 'nginx', tool: 'ghcr.io/org/tool:1.0'};
	const interpolated = interpolate(raw, {});
	assert.deepEqual(literalRepositories(settings, raw, interpolated), ['ghcr.io/org/app', 'ghcr.io/org/front', 'ghcr.io/org/tool']);
	const counts: Record<string, number> = {'ghcr.io/org/app': 4, 'ghcr.io/org/front': 3, 'ghcr.io/org/tool': 1};
	const release = releaseServices(settings, raw, interpolated, {tagCount: repo => counts[repo] ?? 0});
	assert.equal(release.shape, 'literal');
	assert.deepEqual(release.services, ['backend', 'frontend']);
	assert.equal(release.why['backend'], 'literal tag; ghcr.io/org/app has 4 release tags here or in the registry');
	assert.ok(isThirdParty('postgres:15') && isThirdParty('docker.io/library/nginx:1') && isThirdParty('local/busybox:latest'));
	assert.ok(!isThirdParty('127.0.0.1:5000/shop/app:v1') && !isThirdParty('org/app:1.0'));
	// Named: a third-party image too, and a single tag is no reason to refuse.
	const named = releaseServices(parseSettings({release: {services: ['tool', 'db']}}), raw, interpolated, {tagCount: () => 1});
	assert.deepEqual(named.services, ['db', 'tool']);
	assert.match(named.why['db']!, /named in x-rollback-console\.release\.services/);
});

test('ambiguous projects get one line saying what to set in x-rollback-console.release', () => {
	const cases: Array<[string, Record<string, string>, Set<string>, RegExp]> = [
		['the tag variable used outside any image too', {web: 'r/app:${IMAGE_TAG}'}, new Set(['IMAGE_TAG']), /IMAGE_TAG\} is used outside any image too.*set x-rollback-console\.release\.variable: IMAGE_TAG/],
		['a whole-image variable used elsewhere too', {api: '${API_IMAGE}'}, new Set(['API_IMAGE']), /API_IMAGE\} is used outside any image too.*set x-rollback-console\.release\.services/],
		['IMAGE_TAG used with literal images only', {web: 'r/app:1.0'}, new Set(['IMAGE_TAG']), /IMAGE_TAG\} is used outside any image while every image is a literal; set x-rollback-console\.release\.services/],
		['two variables for one service', {web: '${REGISTRY}/app:${APP_TAG}'}, new Set(), /web's image "\$\{REGISTRY\}\/app:\$\{APP_TAG\}" uses 2 variables .*set x-rollback-console\.release\.variable/],
		['different tag variables', {api: 'r/api:${API_TAG}', web: 'r/web:${WEB_TAG}'}, new Set(), /different tag variables .*set x-rollback-console\.release\.variable/],
		['whole images and tags mixed', {api: '${API_IMAGE}', web: 'r/web:${WEB_TAG}'}, new Set(), /api take a whole image .* but web only a tag; set x-rollback-console\.release\.services/],
		['a literal image with a single tag everywhere', {web: 'reg.example/o/app:1.0', db: 'postgres:15'}, new Set(), /web \(reg\.example\/o\/app:1\.0\) has a single tag here and in the registry; set x-rollback-console\.release\.services/],
	];
	for (const [name, raw, outside, message] of cases) {
		assert.throws(
			() => releaseServices(settings, raw, interpolate(raw, {IMAGE_TAG: 'v1', API_IMAGE: 'r/api:1', REGISTRY: 'r', APP_TAG: '1', API_TAG: '1', WEB_TAG: '1'}), {usedOutsideImages: outside, tagCount: () => 1}),
			(error: Error) => message.test(error.message) && !error.message.includes('\n'),
			name,
		);
	}
	// Naming the variable settles the first one.
	const set = releaseServices(parseSettings({release: {variable: 'IMAGE_TAG'}}), {web: 'r/app:${IMAGE_TAG}'}, {web: {image: 'r/app:v1'}}, {usedOutsideImages: new Set(['IMAGE_TAG'])});
	assert.equal(set.shape, 'tag-variable');
	assert.throws(() => releaseServices(settings, {db: 'postgres:16'}, {db: {image: 'postgres:16'}}), /no release services/);
});

test('variables used outside image lines are found in the Compose text; comments and image lines do not count', () => {
	const text = '# uses ${IMAGE_TAG} in a comment\nservices:\n  web:\n    image: r/app:${IMAGE_TAG}\n    environment:\n      VERSION: ${APP_VERSION} # and ${NOT_THIS}\n      PORT: $WEB_PORT\n';
	assert.deepEqual([...usedOutsideImages([{path: 'c.yaml', text}])].sort(), ['APP_VERSION', 'WEB_PORT']);
	assert.deepEqual(variablesIn('$${ESCAPED}-${A:-x}$B'), ['A', 'B']);
});

const composeText = `# The shop. Keep these comments.
x-image: &release "reg.example/o/app:0.3.0"  # the release
x-base: &base
  restart: always
  image: 'reg.example/o/front:0.3.0'

services:
  backend:
    image: *release
  worker:
    image: *release
  frontend:
    <<: *base
  db:
    image: postgres:15 # not ours
`;

test('the literal edit changes the image values only: anchors, aliases, merge keys, quotes and comments stay', () => {
	const edits = editComposeImages([{path: '/srv/shop/compose.yaml', text: composeText}], {
		backend: `reg.example/o/app:0.2.9@${d('2')}`,
		worker: `reg.example/o/app:0.2.9@${d('2')}`,
		frontend: 'reg.example/o/front:0.2.9',
	});
	assert.equal(edits.length, 1);
	assert.equal(
		edits[0]!.after,
		composeText.replace('"reg.example/o/app:0.3.0"', `"reg.example/o/app:0.2.9@${d('2')}"`).replace("'reg.example/o/front:0.3.0'", "'reg.example/o/front:0.2.9'"),
	);
	assert.throws(
		() => editComposeImages([{path: 'c.yaml', text: composeText}], {backend: 'a:1', worker: 'a:2'}),
		/backend and worker share one image line \(an anchor\) but need different images/,
	);
	// The last file that sets the image is the one compose takes it from.
	const override = 'services:\n  backend:\n    image: reg.example/o/app:0.3.1\n';
	const two = editComposeImages([{path: 'compose.yaml', text: composeText}, {path: 'compose.override.yaml', text: override}], {backend: 'reg.example/o/app:0.2.9'});
	assert.deepEqual(two.map(e => [e.path, e.after]), [['compose.override.yaml', override.replace('0.3.1', '0.2.9')]]);
});

const project: ComposeProject = {workingDir: '/srv/shop', files: ['/srv/shop/compose.yaml'], name: 'shop'};
const argv = (p: ComposeProject, args: string[]) => ['docker', 'compose', ...p.files.flatMap(f => ['-f', f]), '-p', 'shop', ...args];

function planInput(overrides: Partial<PlanInput>): PlanInput {
	return {
		kind: 'rollback',
		now: Date.parse('2026-11-22T03:12:09Z'),
		project,
		projectName: 'shop',
		argv,
		release: overrides.release!,
		persist: 'env',
		current: {},
		previousValue: null,
		target: overrides.target!,
		envFile: {path: '/srv/shop/.env', text: null},
		override: null,
		incidentEvents: [{time: '', type: 'evidence_capture_complete'} as never],
		shellHasVariable: false,
		editImages: editComposeImages,
		...overrides,
	};
}

const target = (services: Target['services']): Target => ({
	requested: '0.2.9',
	tag: '0.2.9',
	pinned: null,
	pinReason: null,
	value: '0.2.9',
	services,
	skipPull: null,
	verified: true,
	verifiedAt: null,
	migrationHead: null,
});

test('shape 1 plan: the Compose file edited in place before the pull when the override is not ours; else our override', () => {
	const raw = {backend: 'reg.example/o/app:0.3.0', worker: 'reg.example/o/app:0.3.0', frontend: 'reg.example/o/front:0.3.0', db: 'postgres:15'};
	const release = releaseServices(settings, raw, interpolate(raw, {}), {tagCount: () => 3});
	const to = (repo: string, c: string) => ({reference: `${repo}@${d(c)}`, digest: d(c), local: false, imageId: null});
	const t = target({backend: to('reg.example/o/app', '2'), worker: to('reg.example/o/app', '2'), frontend: to('reg.example/o/front', '3')});
	const current = {
		backend: {tag: '0.3.0', digest: d('8'), imageId: 'sha256:i8', ok: false},
		worker: {tag: '0.3.0', digest: d('8'), imageId: 'sha256:i8', ok: true},
		frontend: {tag: '0.3.0', digest: d('9'), imageId: 'sha256:i9', ok: true},
	};
	const theirs = {path: '/srv/shop/compose.override.yaml', text: 'services: {}\n', ours: false};
	const plan = buildPlan(planInput({release, target: t, current, override: theirs, composeFiles: [{path: '/srv/shop/compose.yaml', text: composeText}]}));
	assert.equal(plan.durable.persist, 'compose');
	assert.equal(plan.durable.beforePull, true);
	assert.equal(plan.durable.file, '/srv/shop/compose.yaml');
	assert.deepEqual(
		plan.durable.diff.split('\n').filter(l => /^[-+](?![-+]{2})/.test(l)),
		[
			'-x-image: &release "reg.example/o/app:0.3.0"  # the release',
			`+x-image: &release "reg.example/o/app:0.2.9@${d('2')}"  # the release`,
			"-  image: 'reg.example/o/front:0.3.0'",
			`+  image: 'reg.example/o/front:0.2.9@${d('3')}'`,
		],
	);
	assert.deepEqual(plan.assignments, {});
	assert.deepEqual(plan.release, {shape: 'literal', why: release.why});
	assert.match(planText(plan), /Release: literal tags in the Compose file\n  backend: literal tag; reg\.example\/o\/app has 3 release tags/);
	assert.match(planText(plan), /written before the pull/);

	const ours = buildPlan(planInput({release, target: t, current, override: {path: '/srv/shop/compose.override.yaml', text: null, ours: false}, composeFiles: [{path: '/srv/shop/compose.yaml', text: composeText}]}));
	assert.equal(ours.durable.persist, 'override');
	assert.ok(ours.durable.after!.startsWith(OVERRIDE_MARKER));
	assert.match(ours.durable.after!, new RegExp(`  backend:\\n    image: reg\\.example/o/app:0\\.2\\.9@${d('2')}\\n`));
	assert.match(ours.durable.after!, /follow the Compose file again/);
	assert.throws(() => buildPlan(planInput({release, target: t, current, persist: 'none'})), /persist: none cannot roll them back/);
});

test('shape 2 plan: each variable set to repo:tag@sha256:… in .env and the commands, other lines alone', () => {
	const raw = {api: '${API_IMAGE}', web: '${WEB_IMAGE}'};
	const values = {API_IMAGE: `reg.example/o/api@${d('a')}`, WEB_IMAGE: `reg.example/o/web@${d('b')}`};
	const release = releaseServices(settings, raw, interpolate(raw, values));
	const env = `# from CI\nAPI_IMAGE=${values.API_IMAGE}\nOTHER=1\nWEB_IMAGE=${values.WEB_IMAGE}\n`;
	const t = target({
		api: {reference: `reg.example/o/api@${d('1')}`, digest: d('1'), local: true, imageId: 'sha256:x1'},
		web: {reference: `reg.example/o/web@${d('2')}`, digest: d('2'), local: false, imageId: null},
	});
	const plan = buildPlan(
		planInput({
			release,
			target: t,
			envFile: {path: '/srv/shop/.env', text: env},
			current: {api: {tag: '0.3.0', digest: d('a'), imageId: 'sha256:a', ok: false}, web: {tag: '0.3.0', digest: d('b'), imageId: 'sha256:b', ok: true}},
			shellVariables: ['WEB_IMAGE'],
		}),
	);
	assert.deepEqual(plan.assignments, {API_IMAGE: `reg.example/o/api:0.2.9@${d('1')}`, WEB_IMAGE: `reg.example/o/web:0.2.9@${d('2')}`});
	assert.equal(plan.durable.after, `# from CI\nAPI_IMAGE=reg.example/o/api:0.2.9@${d('1')}\nOTHER=1\nWEB_IMAGE=reg.example/o/web:0.2.9@${d('2')}\n`);
	assert.deepEqual(plan.commands[0]!.env, plan.assignments);
	assert.match(plan.commands[0]!.display, /^API_IMAGE=reg\.example\/o\/api:0\.2\.9@sha256:1+ WEB_IMAGE=.* pull --policy always api web$/);
	assert.ok(plan.warnings.some(w => w.id === 'shadowed-variable' && /WEB_IMAGE is exported/.test(w.text)));
	// A release known only by digest: the reference carries no tag.
	const untagged = buildPlan(planInput({release, target: {...t, services: {...t.services, web: {...t.services['web']!, tag: null}}}, envFile: {path: '/srv/shop/.env', text: env}}));
	assert.equal(untagged.assignments!['WEB_IMAGE'], `reg.example/o/web@${d('2')}`);
});

test('a database version in a variable is not a release; other variables beside the tag variable are ambiguous', () => {
	const raw = {web: 'r/app:${IMAGE_TAG}', db: 'postgres:${PG_VERSION}'};
	const release = releaseServices(settings, raw, interpolate(raw, {IMAGE_TAG: 'v1', PG_VERSION: '15'}));
	assert.deepEqual(release.services, ['web']);
	const literal = {web: 'reg.example/o/app:1.0', db: 'postgres:${PG_VERSION}'};
	assert.deepEqual(literalRepositories(settings, literal, interpolate(literal, {PG_VERSION: '15'})), ['reg.example/o/app'], 'counted: the literal shape still applies');
	const mixed = {web: 'r/app:${IMAGE_TAG}', api: '${API_IMAGE}'};
	assert.throws(
		() => releaseServices(settings, mixed, interpolate(mixed, {IMAGE_TAG: 'v1', API_IMAGE: 'r/api:1'})),
		/web use \$\{IMAGE_TAG\} but api other variables; set x-rollback-console\.release\.services/,
	);
});
