// Scope says how the Compose file names its release — or, for an ambiguous project, what to
// set before a rollback can run — from the Stabilise model, without planning anything.
import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import {releaseLines, releaseServices, releaseSummary} from '../../source/incident/stabilise/release-services.js';
import {parseSettings} from '../../source/incident/settings.js';
import type {ReleaseView, StabiliseModel} from '../../source/ui/stabilise-model.js';
import {ScopeStep} from '../../source/ui/steps/scope/scope-step.js';
import {fakeModel, frameWhere, serviceRow} from '../support/fake-model.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

async function scope(view: ReleaseView) {
	const fake = await fakeModel({services: [serviceRow('web', {state: 'restarting', restartCount: 3, exitCode: 2, ok: false})]});
	let asked = 0;
	fake.model.stabilise = {
		release: async () => {
			asked++;
			return view;
		},
	} as unknown as StabiliseModel;
	const snapshot = {services: fake.model.services.snapshot().services, mode: 'live', error: null, rising: new Set<string>()} as never;
	const ui = render(
		<ScopeStep model={fake.model} snapshot={snapshot} record={async () => ({}) as never} events={[]} rows={24} columns={100} active onClose={() => {}} onQuit={() => {}} />,
	);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	return {ui, asked: () => asked};
}

test('the shape found and why each service is a release service, in one line', async () => {
	const raw = {api: '${API_IMAGE}', worker: '${WORKER_IMAGE}', cache: 'redis:7'};
	const release = releaseServices(parseSettings(null), raw, {api: {image: 'r/api@sha256:1'}, worker: {image: 'r/worker:v1'}, cache: {image: 'redis:7'}});
	const {ui, asked} = await scope({shape: release.shape, lines: releaseLines(release), summary: releaseSummary(release), error: null});
	const frame = await frameWhere(ui.lastFrame, f => f.includes('Release:'));
	assert.match(frame, /Release: an image variable per service · api \$\{API_IMAGE\}, worker \$\{WORKER_IMAGE\}/);
	assert.match(frame, /Failing services/);
	assert.equal(asked(), 1);
});

test('the one-line summary of each shape', () => {
	const settings = parseSettings(null);
	const tag = releaseServices(settings, {web: 'r/app:${IMAGE_TAG}', worker: 'r/app:${IMAGE_TAG}'}, {web: {image: 'r/app:v1'}, worker: {image: 'r/app:v1'}});
	assert.equal(releaseSummary(tag), 'shared tag ${IMAGE_TAG} · web, worker');
	const literal = releaseServices(settings, {web: 'reg.example/o/app:1.0', db: 'postgres:15'}, {web: {image: 'reg.example/o/app:1.0'}, db: {image: 'postgres:15'}}, {tagCount: () => 3});
	assert.equal(releaseSummary(literal), 'literal tags · web (reg.example/o/app has 3 release tags here or in the registry)');
});

test('an ambiguous project: the line says what to set', async () => {
	const {ui} = await scope({shape: null, lines: [], error: 'ambiguous release: web uses 2 variables; set x-rollback-console.release.variable to the one that names the release'});
	const frame = await frameWhere(ui.lastFrame, f => f.includes('Release:'));
	assert.match(frame, /Release: ambiguous release: web uses 2 variables; set x-rollback-console\.release\.variable/);
});
