import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import type {ImageLayers} from '../../source/engine/types.js';
import {localDiskHost} from '../../source/engine/host-disk.js';
import {buildDiskPlan, imageEstimates, layerSizes, RUNAWAY_LOG_BYTES, selectActions} from '../../source/incident/disk/plan.js';
import {usageBar} from '../../source/presentation/disk-format.js';
import {computeRetention} from '../../source/incident/disk/retention.js';
import {container, digest, facts, image, MB, other, repo, template, verified, volume} from '../support/disk-facts.js';

const reasonOf = (report: ReturnType<typeof buildDiskPlan>, target: string) => report.plan.protected.find(p => p.target === target)?.reason;
const actionOf = (report: ReturnType<typeof buildDiskPlan>, target: string) => report.plan.actions.find(a => a.target === target);

test('layer sizes come from the history: size-0 metadata steps are not layers', () => {
	const layers = ['sha256:a', 'sha256:b', 'sha256:c'];
	assert.deepEqual(
		layerSizes({id: 'x', layers, history: [{size: 100, createdBy: ''}, {size: 0, createdBy: '/bin/sh -c #(nop)  ENV A=1'}, {size: 20, createdBy: 'RUN x'}, {size: 3, createdBy: 'RUN y'}]}),
		[100, 20, 3],
	);
	// A RUN that added nothing is still a layer; an ENV is not.
	assert.deepEqual(
		layerSizes({id: 'x', layers, history: [{size: 100, createdBy: ''}, {size: 0, createdBy: '/bin/sh -c touch -d 2000 /'}, {size: 0, createdBy: '/bin/sh -c #(nop)  LABEL a=b'}, {size: 3, createdBy: 'RUN y'}]}),
		[100, 0, 3],
	);
	assert.equal(layerSizes({id: 'x', layers: ['sha256:a'], history: [{size: 1, createdBy: ''}, {size: 2, createdBy: ''}]}), null);
});

test('an image frees only the layers no staying image shares, each counted once', () => {
	const base = ['sha256:base'];
	const info = (id: string, layers: string[], sizes: number[]): ImageLayers => ({id, layers, history: sizes.map(size => ({size, createdBy: 'RUN'}))});
	const all = [image('keep', {}), image('old1', {}), image('old2', {}), image('unknown', {}, 50, {sharedSize: 20})];
	const layers = new Map<string, ImageLayers | null>([
		['sha256:keep', info('keep', [...base, 'sha256:new'], [100, 7])],
		// old1 and old2 share a dependency layer that no kept image has.
		['sha256:old1', info('old1', [...base, 'sha256:deps', 'sha256:one'], [100, 40, 1])],
		['sha256:old2', info('old2', [...base, 'sha256:deps', 'sha256:two'], [100, 40, 2])],
		['sha256:unknown', null],
	]);
	const estimates = imageEstimates(['sha256:old1', 'sha256:old2', 'sha256:unknown'], all, layers);
	assert.equal(estimates.get('sha256:old1'), 41);
	assert.equal(estimates.get('sha256:old2'), 2);
	assert.equal(estimates.get('sha256:unknown'), 30, 'system df: size minus shared size');
});

test('containers: stopped ones compose did not create go (with their log); compose ones stay', () => {
	const stray = container('stray', 'exited', 'job');
	const db = container('shop-db-1', 'exited', 'busy', {project: 'shop', service: 'db'});
	const web = container('shop-web-1', 'running', 'busy', {project: 'shop', service: 'web'});
	const report = buildDiskPlan(
		facts({
			containers: [stray, db, web],
			df: {layersSize: 0, images: [image('busy', {tags: ['busybox:latest']}), image('job', {tags: ['job:1']})], containers: [{id: stray.id, name: 'stray', imageId: stray.imageId, state: 'exited', sizeRw: 3 * MB}], volumes: [], buildCache: []},
			logSizes: new Map([[stray.id, {size: 1 * MB, allocated: 1 * MB}]]),
		}),
	);
	const action = actionOf(report, stray.id)!;
	assert.equal(action.kind, 'remove-container');
	assert.equal(action.safe, true);
	assert.equal(action.bytes, 4 * MB);
	assert.match(reasonOf(report, db.id)!, /exited container of compose project shop \(service db\): compose manages it/);
	assert.equal(actionOf(report, web.id), undefined);
	assert.equal(reasonOf(report, 'sha256:busy'), 'used by shop-db-1 (exited), shop-web-1 (running)');
	// Its image waits for the next look: the estimate counts only what this plan removes.
	assert.match(reasonOf(report, 'sha256:job')!, /^used by stray \(exited\) — removed by this plan; run `disk` again afterwards/);
});

test('images: dangling ones go unless another repository still names them by digest; images in use, of other repositories or tagged there too stay', () => {
	const users = [container('web', 'running', 'used', {project: 'blog'})];
	const report = buildDiskPlan(
		facts({
			containers: users,
			df: {
				layersSize: 0,
				images: [
					image('dangling', {}),
					image('pinned', {digests: [`${other}@${digest('p')}`]}),
					image('used', {tags: [`${repo}:v0.1.0`]}),
					image('theirs', {tags: [`${other}:v9`]}),
					image('both', {tags: [`${repo}:v0.2.0`, `${other}:v0.2.0`]}),
				],
				containers: [],
				volumes: [],
				buildCache: [],
			},
		}),
	);
	assert.equal(actionOf(report, 'sha256:dangling')?.safe, true);
	assert.match(reasonOf(report, 'sha256:pinned')!, /untagged, but still registry\.example\/blog\/app@sha256:p0+…: it may be another project's rollback image/);
	assert.match(reasonOf(report, 'sha256:used')!, /^used by web \(running\)$/);
	assert.match(reasonOf(report, 'sha256:theirs')!, /not this project's \(registry\.example\/blog\/app\) — left alone/);
	assert.match(reasonOf(report, 'sha256:both')!, /also registry\.example\/blog\/app:v0\.2\.0, not this project's — left alone/);
	assert.equal(report.plan.actions.length, 1);
});

test('release images: current, last known good and the last N verified stay (by digest, even re-pushed); older, rolled-back-from and unrecorded ones go', () => {
	const records = [
		verified('v1.0.0', 1),
		verified('v1.1.0', 2),
		verified('v1.2.0', 3, digest('v12')),
		verified('v1.3.0', 4),
		verified('v1.4.0', 5),
		verified('v1.5.0', 6),
		verified('v1.5.0', 7, null, 'rolled_back'),
		verified('v2.0.0', 8, null, 'deployed'),
	];
	const tagged = (t: string, extra: {digests?: string[]} = {}) => image(t, {tags: [`${repo}:${t}`], ...extra});
	const report = buildDiskPlan(
		facts({
			records,
			current: 'v1.4.0',
			df: {
				layersSize: 0,
				images: [
					tagged('v1.0.0'),
					tagged('v1.2.0'),
					// v1.2.0 was verified as digest v12, and re-pushed since: the verified content stays, untagged.
					image('v12', {digests: [`${repo}@${digest('v12')}`]}),
					tagged('v1.3.0'),
					tagged('v1.4.0'),
					tagged('v1.5.0'),
					tagged('v2.0.0'),
					tagged('latest'),
				],
				containers: [],
				volumes: [],
				buildCache: [],
			},
		}),
	);
	assert.match(reasonOf(report, 'sha256:v1.4.0')!, /the current release v1\.4\.0, by tag/);
	assert.match(reasonOf(report, 'sha256:v1.3.0')!, /the last known good release v1\.3\.0, by tag/);
	assert.match(reasonOf(report, 'sha256:v1.2.0')!, /verified release v1\.2\.0 \(one of the last 2 verified\), by tag/);
	assert.match(reasonOf(report, 'sha256:v12')!, /verified release v1\.2\.0 .*, by digest/);
	assert.match(reasonOf(report, 'sha256:v2.0.0')!, /v2\.0\.0 is newer than the current release v1\.4\.0 \(perhaps the next deploy\)/);
	assert.match(actionOf(report, 'sha256:v1.0.0')!.detail, /release v1\.0\.0: verified 2026-11-01, older than the last 2 verified/);
	assert.match(actionOf(report, 'sha256:v1.5.0')!.detail, /release v1\.5\.0: rolled back from, not kept/);
	assert.match(actionOf(report, 'sha256:latest')!.detail, /latest: no record of it as a release on this box/);
	assert.deepEqual(report.releases?.kept.map(k => k.tag), ['v1.4.0', 'v1.3.0', 'v1.2.0']);
});

test('a repository another compose project uses: its records keep its releases; without records the whole repository is left alone', () => {
	const theirRecords = [verified('v1.0.0', 1)];
	const theirs = computeRetention({project: 'staging', records: theirRecords, templates: {web: template}, currentTag: 'v1.1.0', configuredTag: null, retain: 2});
	const images = [image('a', {tags: [`${repo}:v1.0.0`]}), image('b', {tags: [`${repo}:v0.9.0`]})];
	const withRecords = buildDiskPlan(facts({current: 'v1.1.0', others: [{retention: theirs, records: theirRecords}], df: {layersSize: 0, images, containers: [], volumes: [], buildCache: []}}));
	assert.match(reasonOf(withRecords, 'sha256:a')!, /compose project staging: the last known good release v1\.0\.0/);
	assert.equal(actionOf(withRecords, 'sha256:b')?.kind, 'remove-image');
	const unrecorded = buildDiskPlan(facts({current: 'v1.1.0', sharedUnrecorded: new Map([[repo, ['staging']]]), df: {layersSize: 0, images, containers: [], volumes: [], buildCache: []}}));
	assert.match(reasonOf(unrecorded, 'sha256:b')!, /shared with compose project staging, whose releases this box has not recorded — left alone/);
	assert.equal(unrecorded.plan.actions.length, 0);
});

test('no release services: no release image goes, and the plan says why', () => {
	const report = buildDiskPlan(facts({retention: null, releaseProblem: 'no release services', df: {layersSize: 0, images: [image('a', {tags: [`${repo}:v1`]}), image('d', {})], containers: [], volumes: [], buildCache: []}}));
	assert.deepEqual(report.plan.actions.map(a => a.target), ['sha256:d']);
	assert.ok(reasonOf(report, 'sha256:a'));
	assert.ok(report.notes.some(n => /no release images are pruned: no release services/.test(n)));
});

test('volumes: named ones never go; an unused anonymous one is offered, typed, with what it holds and who last used it', () => {
	const anon = 'f'.repeat(64);
	const db = container('shop-db-1', 'exited', 'x', {project: 'shop', mounts: [{type: 'volume', name: 'shop_dbdata', destination: '/data'}]});
	const report = buildDiskPlan(
		facts({
			containers: [db],
			df: {
				layersSize: 0,
				images: [],
				containers: [],
				volumes: [
					volume('shop_dbdata', {labels: {'com.docker.compose.project': 'shop', 'com.docker.compose.volume': 'dbdata'}, refCount: 1}),
					volume('blog_uploads', {labels: {'com.docker.compose.project': 'blog', 'com.docker.compose.volume': 'uploads'}}),
					volume('handmade'),
					volume(anon),
					volume('e'.repeat(64), {refCount: 1}),
				],
				buildCache: [],
			},
			volumeMounts: [{time: 1, volume: anon, containerId: 'c'.repeat(64), containerName: 'old-job'}],
			volumePeeks: new Map([[anon, {names: ['PG_VERSION', 'base'], total: 12}]]),
		}),
	);
	assert.match(reasonOf(report, 'shop_dbdata')!, /named volume dbdata of compose project shop, used by shop-db-1 \(exited\): named volumes are never removed/);
	assert.match(reasonOf(report, 'blog_uploads')!, /compose project blog, no container uses it now: named volumes are never removed/);
	assert.match(reasonOf(report, 'handmade')!, /named volume, unused: named volumes are never removed/);
	assert.match(reasonOf(report, 'e'.repeat(64))!, /mounted by 1 container/);
	const action = actionOf(report, anon)!;
	assert.deepEqual([action.kind, action.safe, action.typed, action.bytes], ['remove-volume', false, 'ffffffffffff', 5 * MB]);
	assert.match(action.detail, /last used by old-job; holds PG_VERSION, base \(12 entries\)/);
	assert.equal(report.plan.estimate.safe, 0);
	assert.equal(report.plan.estimate.optional, 5 * MB);
});

test('logs: runaway json-file logs are offered for truncation, after the tail is saved; build cache only when Docker reports some', () => {
	const chatty = container('chatty', 'running', 'x');
	const quiet = container('quiet', 'running', 'x');
	const stray = container('stray', 'exited', 'x');
	const big = {size: 50 * 1024 * 1024, allocated: 50 * 1024 * 1024};
	const report = buildDiskPlan(
		facts({
			containers: [chatty, quiet, stray],
			logSizes: new Map([
				[chatty.id, big],
				[quiet.id, {size: 1000, allocated: 4096}],
				[stray.id, big],
			]),
			df: {layersSize: 0, images: [], containers: [], volumes: [], buildCache: [{id: 'b', type: 'regular', size: 7 * MB, inUse: false, shared: false, description: ''}]},
		}),
	);
	const log = actionOf(report, chatty.id)!;
	assert.equal(log.kind, 'truncate-log');
	assert.equal(log.safe, false);
	assert.equal(log.typed, 'chatty');
	// The state dir is on another filesystem here: what the saved tail costs is not subtracted.
	assert.equal(log.bytes, big.allocated);
	assert.match(log.does, /save the last 10,000 lines .* gzipped into the incident's evidence, then empty .* in place \(open O_WRONLY\|O_TRUNC/);
	assert.equal(report.plan.actions.filter(a => a.kind === 'truncate-log').length, 1, 'not the quiet one, nor one whose container goes anyway');
	assert.deepEqual(report.logs.map(l => l.container), ['chatty', 'stray', 'quiet']);
	assert.ok(big.allocated >= RUNAWAY_LOG_BYTES);
	const cache = report.plan.actions.find(a => a.kind === 'prune-build-cache')!;
	assert.deepEqual([cache.safe, cache.bytes, cache.does], [true, 7 * MB, 'POST /build/prune (unused cache only)']);
	assert.equal(report.over, true, 'the state dir at 80% is at the threshold');
	assert.deepEqual(report.filesystems.map(f => f.sameAs), [null, 'root', null]);
});

test('selectActions: the safe ones, plus each volume and log named on purpose; protected or unknown names are refused', () => {
	const anon = 'ab'.repeat(32);
	const chatty = container('chatty', 'running', 'x');
	const stray = container('stray', 'exited', 'x');
	const local = container('local-driver', 'running', 'x', {logDriver: 'local', logPath: null});
	const f = facts({
		containers: [chatty, stray, local],
		logSizes: new Map([[chatty.id, {size: 1000, allocated: 4096}]]),
		df: {
			layersSize: 0,
			images: [],
			containers: [],
			volumes: [volume(anon), volume('ab'.repeat(31) + 'cd'), volume('shop_dbdata', {labels: {'com.docker.compose.project': 'shop', 'com.docker.compose.volume': 'dbdata'}})],
			buildCache: [],
		},
	});
	const report = buildDiskPlan(f);
	assert.deepEqual(selectActions(report, f, {volumes: [], logs: []}).map(a => a.target), [stray.id]);
	const chosen = selectActions(report, f, {volumes: [anon], logs: ['chatty']});
	assert.deepEqual(chosen.map(a => a.kind), ['remove-container', 'remove-volume', 'truncate-log']);
	assert.equal(chosen[2]!.bytes, 4096, 'a small log can be truncated when named');
	assert.throws(() => selectActions(report, f, {volumes: ['shop_dbdata'], logs: []}), /--volume shop_dbdata: protected — named volume dbdata/);
	assert.throws(() => selectActions(report, f, {volumes: ['abababababab'], logs: []}), /matches 2 volumes/);
	assert.throws(() => selectActions(report, f, {volumes: ['nope'], logs: []}), /no unused anonymous volume of that name/);
	assert.throws(() => selectActions(report, f, {volumes: [], logs: ['stray']}), /the plan removes stray already/);
	assert.throws(() => selectActions(report, f, {volumes: [], logs: ['local-driver']}), /logs with the local driver, not json-file/);
	assert.throws(() => selectActions(report, f, {volumes: [], logs: ['ghost']}), /no container of that name/);
});

test('usage bars mark the threshold', () => {
	assert.equal(usageBar(50, 80, 10), '█████░░│░░');
	assert.equal(usageBar(90, 80, 10), '███████┃█░');
	assert.equal(usageBar(0, 100, 4), '░░░│');
});

test('the tail of a log: the last lines within the last bytes, without a partial first line', async () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-tail-'));
	try {
		const file = path.join(dir, 'log');
		writeFileSync(file, Array.from({length: 100}, (_, i) => `line ${i}\n`).join(''));
		const byLines = await localDiskHost.readTail(file, {maxLines: 3, maxBytes: 1 << 20});
		assert.equal(byLines.data.toString(), 'line 97\nline 98\nline 99\n');
		assert.equal(byLines.lines, 3);
		const byBytes = await localDiskHost.readTail(file, {maxLines: 1000, maxBytes: 12});
		assert.equal(byBytes.data.toString(), 'line 99\n', 'the cut first line is dropped');
		await localDiskHost.truncate(file);
		assert.equal((await localDiskHost.fileSize(file))?.size, 0);
		await assert.rejects(localDiskHost.truncate(path.join(dir, 'missing')), /ENOENT/, 'truncate never creates a file');
	} finally {
		rmSync(dir, {recursive: true, force: true});
	}
});

test('images built on one another: a child always goes before its parent, and a parent whose child stays is kept', () => {
	const records = [verified('v1.0.0', 1), verified('v1.1.0', 2), verified('v1.2.0', 3)];
	const base = image('base', {digests: [`${repo}@${digest('b')}`]}, 10 * MB, {created: '2026-10-01T00:00:00.000Z'});
	const child = image('child', {tags: [`${repo}:v0.9.0`]}, 20 * MB, {parentId: 'sha256:base', created: '2026-10-02T00:00:00.000Z'});
	// Built on `kid` through an image system df does not list: only the layers tell.
	const kid = image('kid', {digests: [`${repo}@${digest('k')}`]}, 10 * MB, {created: '2026-10-01T00:00:00.000Z'});
	const grandchild = image('grandchild', {tags: [`${repo}:v0.8.0`]}, 30 * MB, {created: '2026-10-03T00:00:00.000Z'});
	const keep = image('keep', {tags: [`${repo}:v1.2.0`]}, 10 * MB, {parentId: 'sha256:held'});
	const held = image('held', {digests: [`${repo}@${digest('h')}`]}, 10 * MB);
	const layers = new Map<string, ImageLayers | null>([
		['sha256:kid', {id: 'kid', layers: ['sha256:1'], history: [{size: 1, createdBy: ''}]}],
		['sha256:grandchild', {id: 'grandchild', layers: ['sha256:1', 'sha256:2', 'sha256:3'], history: [1, 2, 3].map(size => ({size, createdBy: ''}))}],
	]);
	const report = buildDiskPlan(facts({records, current: 'v1.2.0', layers, df: {layersSize: 0, images: [base, kid, child, grandchild, keep, held], containers: [], volumes: [], buildCache: []}}));
	const order = report.plan.actions.map(a => a.target);
	assert.ok(order.indexOf('sha256:child') < order.indexOf('sha256:base'), `child before parent: ${order.join(' ')}`);
	assert.ok(order.indexOf('sha256:grandchild') < order.indexOf('sha256:kid'), `by layers too: ${order.join(' ')}`);
	assert.match(reasonOf(report, 'sha256:held')!, /registry\.example\/shop\/app:v1\.2\.0 was built on it and stays: the Engine removes a parent only after its children/);
	assert.ok(!order.includes('sha256:held'));
});

test('the runner: one action at a time, each recorded; an image with an unlisted child is tried again after the rest', async () => {
	const calls: string[] = [];
	const recorded: Array<{type: string; data: Record<string, unknown>}> = [];
	let parentBlocked = true;
	let free = 1000;
	const {runDiskPrune} = await import('../../source/incident/disk/run.js');
	const engine = {
		async removeImage(id: string) {
			calls.push(id);
			if (id === 'parent' && parentBlocked) throw new Error('conflict: unable to delete parent (cannot be forced) - image has dependent child images');
			if (id === 'child') parentBlocked = false;
			free += 10;
			return [id];
		},
		async removeContainer(id: string) {
			calls.push(id);
			throw new Error('conflict: container is running');
		},
	} as unknown as import('../../source/engine/types.js').DiskEngine;
	const host = {fsUsage: async (p: string) => ({path: p, device: 1, size: 2000, used: 2000 - free, free, usedPercent: 50})} as unknown as import('../../source/engine/types.js').DiskHost;
	const act = (kind: 'remove-image' | 'remove-container', target: string) => ({id: target, kind, target, name: target, bytes: 10, safe: true, typed: null, does: '', detail: ''});
	const result = await runDiskPrune(
		{
			engine,
			host,
			report: {project: 'shop', engine: {address: 'unix:///var/run/docker.sock', version: '', apiVersion: '1.41', dockerRootDir: '/var/lib/docker', local: true}},
			evidenceDir: '/nonexistent',
			record: async (_step, type, data) => {
				recorded.push({type, data});
			},
		},
		[act('remove-image', 'parent'), act('remove-image', 'child'), act('remove-container', 'busy')],
	);
	assert.deepEqual(calls, ['parent', 'child', 'busy', 'parent']);
	assert.deepEqual(result.results.map(r => [r.target, r.ok, r.bytesFreed, r.measuredBy]), [
		['child', true, 10, 'statfs'],
		['busy', false, 0, 'statfs'],
		['parent', true, 10, 'statfs'],
	]);
	assert.equal(result.results[1]!.error, 'conflict: container is running');
	assert.deepEqual([result.before, result.after, result.freedBytes, result.estimate, result.failed], [1000, 1020, 20, 30, 1]);
	assert.deepEqual(recorded.map(r => r.type), ['disk_action', 'disk_action', 'disk_action', 'disk_prune_complete'], 'the deferred first try is not recorded');
});
