// Real disk-full behaviour on small tmpfs mounts: needs root (mount -t tmpfs). Skipped, with
// the reason, where mounting is not possible.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {closeSync, openSync, writeSync} from 'node:fs';
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it, type TestContext} from 'node:test';
import {ConsoleError} from '../../source/errors.js';
import {readJsonLines, writeFileAtomic} from '../../source/incident/atomic-file.js';
import {openIncident, recordStepStatus, stepStatuses} from '../../source/incident/incident-store.js';
import {currentOperator} from '../../source/incident/operator.js';
import {Timeline, type TimelineEvent} from '../../source/incident/timeline.js';

const operator = {...currentOperator({}), user: 'alice'};
const pageSize = 4096;

let base = '';
let unavailable: string | null = null;
const mounts: string[] = [];

/** A fresh 64 KiB tmpfs, or null (and the test skipped) when mounting is not possible. */
async function smallDisk(t: TestContext, name: string): Promise<string | null> {
	if (unavailable) {
		t.skip(unavailable);
		return null;
	}
	const dir = join(base, name);
	await mkdir(dir);
	try {
		execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir], {stdio: 'pipe'});
	} catch (error) {
		unavailable = `cannot mount a tmpfs (needs root): ${String((error as {stderr?: Buffer}).stderr ?? error).trim().split('\n')[0]}`;
		t.skip(unavailable);
		return null;
	}
	mounts.push(dir);
	return dir;
}

/** Writes a filler file until the filesystem says ENOSPC. */
function fill(dir: string): void {
	const fd = openSync(join(dir, 'filler'), 'a');
	const chunk = Buffer.alloc(pageSize, 0x2e);
	try {
		for (;;) writeSync(fd, chunk);
	} catch (error) {
		assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
	} finally {
		closeSync(fd);
	}
}

/** A valid timeline of exactly one page, so no append fits in the last page's slack. */
function onePageTimeline(): string {
	const event = (seq: number, text: string): TimelineEvent => ({
		time: '2026-03-01T03:04:05.000Z',
		seq,
		operator: {user: 'alice', ssh: null, pid: 1},
		step: null,
		type: seq === 1 ? 'incident_opened' : 'note',
		data: {text},
	});
	const head = `${JSON.stringify(event(1, 'opened'))}\n`;
	const emptyLast = `${JSON.stringify(event(2, ''))}\n`;
	const content = head + `${JSON.stringify(event(2, 'x'.repeat(pageSize - head.length - emptyLast.length)))}\n`;
	assert.equal(Buffer.byteLength(content), pageSize);
	return content;
}

before(async () => {
	base = await mkdtemp(join(tmpdir(), 'rc-disk-full-'));
});

after(async () => {
	for (const dir of mounts) {
		try {
			execFileSync('umount', [dir], {stdio: 'pipe'});
		} catch {
			execFileSync('umount', ['-l', dir], {stdio: 'pipe'});
		}
	}
	await rm(base, {recursive: true, force: true});
});

describe('a full disk', () => {
	it('moves the timeline to the fallback dir and leaves the original byte for byte', async t => {
		const disk = await smallDisk(t, 'timeline');
		if (!disk) return;
		const file = join(disk, 'timeline.jsonl');
		await writeFile(file, onePageTimeline(), {mode: 0o600});
		fill(disk);
		const original = await readFile(file);
		const fallbackDir = join(base, 'fallback-timeline', 'shop', 'incidents', 'x');

		const timeline = await Timeline.open(file, {operator, fallbackDir: async () => fallbackDir});
		assert.equal(timeline.fellBack, false);
		const first = await timeline.append('evidence', 'note', {text: 'disk is full'});
		const second = await timeline.append('disk', 'step_status', {status: 'in-progress'});

		assert.equal(timeline.fellBack, true);
		assert.equal(timeline.file, join(fallbackDir, 'timeline.jsonl'));
		assert.equal(timeline.originalFile, file);
		assert.deepEqual(await readFile(file), original, 'the original is byte-identical');
		assert.deepEqual([first.seq, second.seq], [4, 5]);

		const moved = await readFile(timeline.file, 'utf8');
		assert.ok(moved.startsWith(original.toString('utf8')), 'the fallback starts with a copy of the original');
		const events = await readJsonLines<TimelineEvent>(timeline.file);
		assert.deepEqual(
			events.map(event => [event.seq, event.type]),
			[
				[1, 'incident_opened'],
				[2, 'note'],
				[3, 'timeline_fallback'],
				[4, 'note'],
				[5, 'step_status'],
			],
		);
		assert.deepEqual(events[2]?.data, {from: file, to: timeline.file, reason: 'no space left on device (ENOSPC)'});
		assert.deepEqual(timeline.events(), events);

		// A later process finds the fallback and carries on there.
		const reopened = await Timeline.open(file, {operator, fallbackDir});
		assert.equal(reopened.fellBack, true);
		assert.equal((await reopened.append(null, 'note', {text: 'resumed'})).seq, 6);
		assert.deepEqual(await readFile(file), original);
	});

	it('keeps the old file when an atomic write cannot finish', async t => {
		const disk = await smallDisk(t, 'atomic');
		if (!disk) return;
		const file = join(disk, 'current');
		await writeFile(file, '{"incident":"old"}\n');
		fill(disk);
		await assert.rejects(writeFileAtomic(file, 'n'.repeat(3 * pageSize)), {code: 'ENOSPC'});
		assert.equal(await readFile(file, 'utf8'), '{"incident":"old"}\n');
		assert.deepEqual((await readdir(disk)).sort(), ['current', 'filler']);
	});

	it('says so in one sentence when there is nowhere to fall back to', async t => {
		const disk = await smallDisk(t, 'nowhere');
		if (!disk) return;
		const file = join(disk, 'timeline.jsonl');
		await writeFile(file, onePageTimeline());
		fill(disk);
		const timeline = await Timeline.open(file, {operator, fallbackDir: async () => null});
		await assert.rejects(timeline.append(null, 'note', {}), (error: unknown) => {
			assert.ok(error instanceof ConsoleError);
			assert.match(error.message, /is full \(ENOSPC\)/);
			return true;
		});
	});

	it('opens a new incident on the fallback when the state dir is full, and resumes it there', async t => {
		const disk = await smallDisk(t, 'state-full');
		if (!disk) return;
		fill(disk);
		const env = {ROLLBACK_CONSOLE_FALLBACK_DIR: join(base, 'fallback-root')};
		const incident = await openIncident({stateDir: disk, project: 'shop', operator, env});
		assert.equal(incident.projectDir, join(env.ROLLBACK_CONSOLE_FALLBACK_DIR, 'shop'));
		assert.equal(incident.timeline.fellBack, true);
		assert.equal(incident.timeline.originalFile, join(disk, 'shop', 'incidents', incident.id, 'timeline.jsonl'));
		assert.deepEqual(
			incident.timeline.events().map(event => event.type),
			['incident_opened', 'timeline_fallback'],
		);
		assert.deepEqual(await readdir(join(disk, 'shop', 'incidents')), [], 'no half-made incident is left on the full disk');
		await recordStepStatus(incident.timeline, 'disk', 'in-progress');

		const again = await openIncident({stateDir: disk, project: 'shop', operator, env});
		assert.equal(again.id, incident.id);
		assert.equal(again.resumed, true);
		assert.equal(again.timeline.fellBack, true);
		assert.equal(stepStatuses(again.timeline.events()).disk.status, 'in-progress');
	});

	it('moves an open incident\'s timeline when the disk fills up, and resumes from the fallback', async t => {
		const disk = await smallDisk(t, 'fills-up');
		if (!disk) return;
		const env = {ROLLBACK_CONSOLE_FALLBACK_DIR: join(base, 'fallback-late')};
		const incident = await openIncident({stateDir: disk, project: 'shop', operator, env});
		await recordStepStatus(incident.timeline, 'scope', 'done');
		fill(disk);
		// The timeline's last page still has room; it fills, the next append is cut short by ENOSPC.
		let notes = 0;
		while (!incident.timeline.fellBack) {
			await incident.timeline.append('disk', 'note', {text: `note ${notes++}`, padding: 'p'.repeat(150)});
			assert.ok(notes < 100, 'the disk never filled');
		}
		const original = await readFile(join(incident.dir, 'timeline.jsonl'), 'utf8');
		const events = incident.timeline.events();
		assert.deepEqual(
			events.map(event => event.seq),
			events.map((_, i) => i + 1),
			'seq has no gaps or repeats',
		);
		assert.equal(events.filter(event => event.type === 'note').length, notes);
		assert.ok(original.startsWith(events.slice(0, -2).map(event => `${JSON.stringify(event)}\n`).join('')));

		const again = await openIncident({stateDir: disk, project: 'shop', operator, env});
		assert.equal(again.id, incident.id);
		assert.equal(again.timeline.fellBack, true);
		assert.equal(again.timeline.file, join(env.ROLLBACK_CONSOLE_FALLBACK_DIR, 'shop', 'incidents', incident.id, 'timeline.jsonl'));
		assert.equal(stepStatuses(again.timeline.events()).scope.status, 'done');
		assert.deepEqual(
			again.timeline.events().slice(0, events.length),
			events,
		);
		assert.equal(again.timeline.events().at(-1)?.type, 'incident_resumed');
	});
});
