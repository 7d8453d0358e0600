// The rollback's plain-HTTP Engine client (release-engine.ts) answers as dockerode's does, and
// the worker's own wait (service-wait.ts) hears a real stack come up healthy from its events.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {DockerEngine} from '../../source/engine/docker-engine.js';
import {connectReleaseEngine, HttpReleaseEngine} from '../../source/engine/release-engine.js';
import type {ContainerEvent} from '../../source/engine/types.js';
import {waitConditions, waitForServices, watchProject} from '../../source/incident/stabilise/service-wait.js';
import {createStack, ensureTestReleases, TEST_REPO, type Stack} from '../support/stack.js';

let stack: Stack;
before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.8', withDb: false});
	await stack.up({wait: true});
});
after(() => stack?.down());

test('plain HTTP and dockerode give the same images, digests and containers', async () => {
	const http = await connectReleaseEngine();
	assert.ok(http instanceof HttpReleaseEngine, 'a local socket is reached over plain HTTP');
	const docker = await DockerEngine.connect();
	const [a, b] = await Promise.all([http.repositoryImages(TEST_REPO), docker.repositoryImages(TEST_REPO)]);
	assert.ok(a.some(i => i.tags.includes('v1.3.8')), 'the release images are listed');
	// Images built in the same second come in either order.
	const byId = (list: typeof a) => [...list].sort((x, y) => (x.id < y.id ? -1 : 1));
	assert.deepEqual(byId(a), byId(b));
	const digest = a.find(i => i.tags.includes('v1.3.8'))!.digest!;
	assert.deepEqual(await http.repositoriesWithDigest(digest), await docker.repositoriesWithDigest(digest));
	assert.deepEqual(await http.projectContainers(stack.projectName), await docker.projectContainers(stack.projectName));
});

test('after up -d, the wait hears the recreated web turn healthy (an event, not a poll) and finds every service ready', async () => {
	const engine = await connectReleaseEngine();
	const events: ContainerEvent[] = [];
	const controller = new AbortController();
	const recording = engine.watchEvents(stack.projectName, {onEvent: e => events.push(e), onState: () => {}}, controller.signal);
	const watch = watchProject(engine, stack.projectName);
	try {
		await stack.setTag('v1.3.9');
		await stack.compose(['up', '-d']);
		const conditions = waitConditions({web: {}, worker: {}});
		const outcome = await waitForServices(engine, stack.projectName, conditions, {timeoutMs: 60_000, watch});
		assert.equal(outcome.ok, true, outcome.message ?? '');
		const web = outcome.containers.find(c => c.service === 'web')!;
		assert.equal(web.health, 'healthy');
		assert.match(web.image, /:v1\.3\.9$/);
		assert.ok(
			events.some(e => e.action === 'health_status' && e.health === 'healthy' && e.service === 'web'),
			`the health change came as an event: ${events.map(e => `${e.service} ${e.action}`).join(', ')}`,
		);
	} finally {
		watch.stop();
		controller.abort();
		await recording;
	}
});
