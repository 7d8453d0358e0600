import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import type {RepositoryImage} from '../../source/engine/types.js';
import {appendRelease, buildCandidates, lastKnownGood, readReleases, semverOf, type ReleaseRecord} from '../../source/incident/stabilise/releases.js';

const record = (event: ReleaseRecord['event'], tag: string, time: string, digest = `sha256:${tag}`): ReleaseRecord => ({
	time,
	event,
	tag,
	digests: {web: digest, worker: digest},
	imageIds: {web: `id-${tag}`, worker: `id-${tag}`},
	migrationHead: null,
	operator: {user: 'alice', ssh: null, pid: 1},
});

const image = (tags: string[], created: string, digest: string | null = null): RepositoryImage => ({
	id: `sha256:${tags[0]}`,
	repoTags: tags.map(t => `r/app:${t}`),
	repoDigests: [],
	created,
	size: 1,
	tags,
	digest,
});

test('SemVer tags, with or without a v; others are not', () => {
	assert.equal(semverOf('v1.3.9'), '1.3.9');
	assert.equal(semverOf('1.10.0-rc.1'), '1.10.0-rc.1');
	assert.equal(semverOf('latest'), null);
	assert.equal(semverOf('main-4f2a9c'), null);
});

test('candidates merge releases.jsonl, registry tags and local images, newest SemVer first, others by date', () => {
	const candidates = buildCandidates({
		records: [record('verified', 'v1.3.8', '2026-11-01T00:00:00Z')],
		registryTags: ['v1.3.9', 'v1.10.0', 'v1.3.8', 'nightly'],
		local: [image(['v1.3.9'], '2026-11-02T00:00:00Z'), image(['main-abc'], '2026-11-20T00:00:00Z')],
		currentTag: 'v1.10.0',
	});
	assert.deepEqual(
		candidates.map(c => c.tag),
		['v1.10.0', 'v1.3.9', 'v1.3.8', 'main-abc', 'nightly'],
	);
	const v139 = candidates.find(c => c.tag === 'v1.3.9')!;
	assert.equal(v139.registry.present, true);
	assert.ok(v139.local);
	assert.equal(v139.verified, false);
	assert.equal(candidates.find(c => c.tag === 'main-abc')!.registry.present, false);
	assert.equal(candidates.find(c => c.current)!.tag, 'v1.10.0');
});

test('the last known good is the newest verified release older than the current one', () => {
	const records = [
		record('verified', 'v1.3.7', '2026-11-01T00:00:00Z'),
		record('verified', 'v1.3.9', '2026-11-02T00:00:00Z'),
		record('deployed', 'v1.4.0', '2026-11-03T00:00:00Z'),
		// Verified once, then rolled back from: not good any more.
		record('verified', 'v1.4.1', '2026-11-04T00:00:00Z'),
		record('rolled_back', 'v1.4.1', '2026-11-05T00:00:00Z'),
		record('verified', 'v1.5.0', '2026-11-06T00:00:00Z'),
	];
	const at = (current: string) => lastKnownGood(buildCandidates({records, registryTags: null, local: [], currentTag: current}))?.tag ?? null;
	assert.equal(at('v1.4.0'), 'v1.3.9');
	assert.equal(at('v1.4.2'), 'v1.3.9', 'v1.4.1 was rolled back from');
	assert.equal(at('v1.6.0'), 'v1.5.0');
	assert.equal(at('v1.3.9'), 'v1.3.7', 'never the current release');
	assert.equal(at('v1.3.7'), null, 'nothing older was verified');
	// Verified again after the rollback: good again.
	const again = [...records, record('verified', 'v1.4.1', '2026-11-07T00:00:00Z')];
	assert.equal(lastKnownGood(buildCandidates({records: again, registryTags: null, local: [], currentTag: 'v1.4.2'}))?.tag, 'v1.4.1');
});

test('a release verified with one digest whose tag now names another is flagged re-pushed', () => {
	const candidates = buildCandidates({
		records: [record('verified', 'v1.3.9', '2026-11-02T00:00:00Z', 'sha256:old')],
		registryTags: ['v1.3.9'],
		registryDigests: new Map([['v1.3.9', 'sha256:new']]),
		local: [],
		currentTag: 'v1.4.0',
	});
	const v139 = candidates.find(c => c.tag === 'v1.3.9')!;
	assert.equal(v139.repushed, true);
	assert.equal(v139.recorded?.digests['web'], 'sha256:old');
	assert.equal(v139.registry.digest, 'sha256:new');
});

test('releases.jsonl: appended a line at a time; a torn last line is skipped', async () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-releases-'));
	try {
		const file = path.join(dir, 'releases.jsonl');
		await appendRelease(file, record('seen', 'v1.3.8', '2026-11-01T00:00:00Z'));
		await appendRelease(file, record('verified', 'v1.3.9', '2026-11-02T00:00:00Z'));
		writeFileSync(file, `${'{"time":"x","event":"seen","tag":'}`, {flag: 'a'});
		const records = await readReleases(file);
		assert.deepEqual(records.map(r => `${r.event} ${r.tag}`), ['seen v1.3.8', 'verified v1.3.9']);
		assert.deepEqual(await readReleases(path.join(dir, 'missing.jsonl')), []);
	} finally {
		rmSync(dir, {recursive: true, force: true});
	}
});

test('a release rolled back from says when, by whom and in which incident, until it is verified again', async () => {
	const {rolledBackFrom, rolledBackNote} = await import('../../source/incident/stabilise/releases.js');
	const records = [
		record('verified', 'v1.4.0', '2026-11-20T00:00:00Z'),
		{...record('rolled_back', 'v1.4.0', '2026-11-22T03:12:09Z'), operator: {user: 'bob', ssh: null, pid: 2}, incident: '20261122-030000-abcd'},
		record('verified', 'v1.3.9', '2026-11-22T03:13:00Z'),
	];
	const candidates = buildCandidates({records, registryTags: null, local: [], currentTag: 'v1.3.9'});
	const bad = candidates.find(c => c.tag === 'v1.4.0')!;
	assert.deepEqual(bad.rolledBackFrom, {time: '2026-11-22T03:12:09Z', user: 'bob', incident: '20261122-030000-abcd'});
	assert.equal(rolledBackNote(bad), 'rolled back from 2026-11-22 03:12 UTC by bob in incident 20261122-030000-abcd');
	assert.equal(candidates.find(c => c.tag === 'v1.3.9')!.rolledBackFrom, null);
	assert.deepEqual(rolledBackFrom(records, 'v1.4.0'), bad.rolledBackFrom);
	assert.equal(rolledBackFrom([...records, record('verified', 'v1.4.0', '2026-11-23T00:00:00Z')], 'v1.4.0'), null, 'verified again: no longer marked');
});

test('with nothing verified, the last known good is the release a deploy\'s preflight found healthy, unless rolled back from since', () => {
	const records = [record('preflight', 'v1.3.9', '2026-11-22T03:00:00Z'), record('deployed', 'v1.4.0', '2026-11-22T03:01:00Z')];
	let candidates = buildCandidates({records, registryTags: null, local: [], currentTag: 'v1.4.0'});
	const good = lastKnownGood(candidates)!;
	assert.equal(good.tag, 'v1.3.9');
	assert.equal(good.lastKnownGoodFrom, 'preflight');
	// A verified release wins over a preflight record.
	candidates = buildCandidates({records: [record('verified', 'v1.3.8', '2026-11-20T00:00:00Z'), ...records], registryTags: null, local: [], currentTag: 'v1.4.0'});
	assert.equal(lastKnownGood(candidates)!.tag, 'v1.3.8');
	assert.equal(lastKnownGood(candidates)!.lastKnownGoodFrom, 'verified');
	// Rolled back from since: not good.
	candidates = buildCandidates({records: [...records, record('rolled_back', 'v1.3.9', '2026-11-22T04:00:00Z')], registryTags: null, local: [], currentTag: 'v1.4.0'});
	assert.equal(lastKnownGood(candidates), null);
});
