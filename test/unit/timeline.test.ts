import assert from 'node:assert/strict';
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {readJsonLines} from '../../source/incident/atomic-file.js';
import {STEP_IDS, STEP_TITLES, Timeline, type TimelineEvent} from '../../source/incident/timeline.js';

const operator = {user: 'alice', sshConnection: '203.0.113.9 51234 203.0.113.1 22', pid: process.pid};

let base = '';
before(async () => {
	base = await mkdtemp(join(tmpdir(), 'rc-timeline-'));
});
after(async () => {
	await rm(base, {recursive: true, force: true});
});

const fresh = async (name: string) => join(await mkdtemp(join(base, `${name}-`)), 'timeline.jsonl');

describe('Timeline', () => {
	it('lists the checklist steps in order with their titles', () => {
		assert.deepEqual([...STEP_IDS], ['scope', 'evidence', 'stabilise', 'database', 'disk', 'verify', 'follow-up']);
		assert.deepEqual(
			STEP_IDS.map(id => STEP_TITLES[id]),
			['Scope', 'Capture evidence', 'Stabilise', 'Database', 'Free disk', 'Verify', 'Follow up'],
		);
	});

	it('appends fsync-ed events with the operator, step and seq', async () => {
		const file = await fresh('basic');
		const timeline = await Timeline.open(file, {operator, now: () => Date.parse('2026-03-01T03:04:05Z')});
		assert.deepEqual(timeline.events(), []);
		const event = await timeline.append('scope', 'scope_answer', {question: 'site down?', answer: 'yes'});
		assert.deepEqual(event, {
			time: '2026-03-01T03:04:05.000Z',
			seq: 1,
			operator: {user: 'alice', ssh: '203.0.113.9 51234 203.0.113.1 22', pid: process.pid},
			step: 'scope',
			type: 'scope_answer',
			data: {question: 'site down?', answer: 'yes'},
		});
		assert.equal(await readFile(file, 'utf8'), `${JSON.stringify(event)}\n`);
		assert.equal((await stat(file)).mode & 0o777, 0o600);
		assert.equal(timeline.fellBack, false);
		assert.equal(timeline.file, file);
	});

	it('serialises 50 concurrent appends: 50 whole lines, seq 1..50', async () => {
		const file = await fresh('concurrent');
		const timeline = await Timeline.open(file, {operator});
		const results = await Promise.all(
			Array.from({length: 50}, (_, i) => timeline.append(null, 'note', {text: `note ${i}`, padding: 'x'.repeat(i * 97)})),
		);
		assert.deepEqual(
			results.map(event => event.seq),
			Array.from({length: 50}, (_, i) => i + 1),
		);
		const lines = (await readFile(file, 'utf8')).split('\n');
		assert.equal(lines.pop(), '', 'the file ends with a newline');
		assert.equal(lines.length, 50);
		const parsed = lines.map(line => JSON.parse(line) as TimelineEvent);
		assert.deepEqual(
			parsed.map(event => event.seq),
			Array.from({length: 50}, (_, i) => i + 1),
		);
		assert.deepEqual(
			parsed.map(event => event.data['text']),
			Array.from({length: 50}, (_, i) => `note ${i}`),
		);
		assert.equal(timeline.events().length, 50);
	});

	it('loads the events at open and carries seq on', async () => {
		const file = await fresh('reopen');
		const first = await Timeline.open(file, {operator});
		await first.append('scope', 'step_status', {status: 'done'});
		await first.append('evidence', 'step_status', {status: 'in-progress'});
		const second = await Timeline.open(file, {operator});
		assert.deepEqual(second.events(), first.events());
		assert.equal((await second.append(null, 'note', {text: 'back'})).seq, 3);
	});

	it('sees what another writer appended (the detached worker) before numbering its own', async () => {
		const file = await fresh('two-writers');
		const consoleSide = await Timeline.open(file, {operator});
		const worker = await Timeline.open(file, {operator: {...operator, pid: 4242}});
		await consoleSide.append('stabilise', 'action_start', {action: 'pull'});
		await worker.append('stabilise', 'action_result', {exitCode: 0});
		const third = await consoleSide.append('stabilise', 'note', {text: 'pulled'});
		assert.equal(third.seq, 3);
		assert.deepEqual(
			consoleSide.events().map(event => [event.seq, event.type, event.operator.pid]),
			[
				[1, 'action_start', process.pid],
				[2, 'action_result', 4242],
				[3, 'note', process.pid],
			],
		);
		assert.equal((await worker.refresh()).length, 3);
	});

	it('tolerates a line torn by a crash, and terminates it before appending', async () => {
		const file = await fresh('torn');
		const writer = await Timeline.open(file, {operator});
		await writer.append('scope', 'note', {text: 'one'});
		await writer.append('scope', 'note', {text: 'two'});
		const intact = await readFile(file, 'utf8');
		await writeFile(file, `${intact}{"time":"2026-03-01T03:04:05.000Z","seq":3,"oper`);
		const reopened = await Timeline.open(file, {operator});
		assert.equal(reopened.events().length, 2);
		const event = await reopened.append('scope', 'note', {text: 'three'});
		assert.equal(event.seq, 3);
		const text = await readFile(file, 'utf8');
		assert.ok(text.startsWith(intact), 'nothing before the torn line changed');
		assert.deepEqual(
			(await readJsonLines<TimelineEvent>(file)).map(e => e.data['text']),
			['one', 'two', 'three'],
		);
		const again = await Timeline.open(file, {operator});
		assert.equal(again.events().length, 3);
		assert.equal(again.damagedLines, 1);
	});

	it('keeps going after an append that fails', async () => {
		const file = await fresh('failure');
		const timeline = await Timeline.open(file, {operator});
		const results = await Promise.allSettled([
			timeline.append(null, 'note', {text: 'before'}),
			timeline.append(null, 'note', {bad: 10n}),
			timeline.append(null, 'note', {text: 'after'}),
		]);
		assert.deepEqual(
			results.map(result => result.status),
			['fulfilled', 'rejected', 'fulfilled'],
		);
		assert.deepEqual(
			timeline.events().map(event => [event.seq, event.data['text']]),
			[
				[1, 'before'],
				[2, 'after'],
			],
		);
	});
});
