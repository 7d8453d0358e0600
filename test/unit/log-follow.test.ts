// The pure parts of following a service's log across restarts (engine/): the line
// assembler, the time cursor, the restart markers and the container tracker.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {ContainerTracker, type ContainerSeen} from '../../source/engine/container-tracker.js';
import {nsToApiTime, timeToNs} from '../../source/engine/engine-time.js';
import {LineAssembler} from '../../source/engine/log-line-assembler.js';
import {LogCursor} from '../../source/engine/log-cursor.js';
import {RestartMarkers, takeLines} from '../../source/engine/restart-markers.js';
import type {LogLine} from '../../source/engine/types.js';

const t = (n: number) => `2026-11-22T03:00:0${n}.000000000Z`;
const ns = (n: number) => timeToNs(t(n))!;
const line = (n: number, text: string, stream: LogLine['stream'] = 'stdout'): LogLine => ({stream, time: t(n), text});

test('line assembler: frames split anywhere become whole lines, each with its timestamp, per stream', () => {
	const lines: LogLine[] = [];
	const assembler = new LineAssembler(true);
	assembler.frame(0, Buffer.from(`${t(1)} hello wo`), lines);
	assert.deepEqual(lines, [], 'no newline yet: nothing');
	assembler.frame(1, Buffer.from(`${t(2)} oops\n`), lines);
	// A continuation frame carries the time again; the line keeps its first part's time.
	assembler.frame(0, Buffer.from(`${t(3)} rld\r\n${t(4)} second\n`), lines);
	assert.deepEqual(lines, [
		{stream: 'stderr', time: t(2), text: 'oops'},
		{stream: 'stdout', time: t(1), text: 'hello world'},
		{stream: 'stdout', time: t(4), text: 'second'},
	]);
});

test('line assembler: a TTY stream, a line without a timestamp, and output without a final newline', () => {
	const lines: LogLine[] = [];
	const assembler = new LineAssembler(true);
	assembler.raw(Buffer.from(`${t(1)} one\n${t(2)} tw`), lines);
	assembler.raw(Buffer.from(`o\nno time here\n${t(3)} last`), lines);
	assembler.flush(lines, true);
	assert.deepEqual(
		lines.map(l => [l.time, l.text]),
		[
			[t(1), 'one'],
			[t(2), 'two'],
			[null, 'no time here'],
			[t(3), 'last'],
		],
	);
	const plain: LogLine[] = [];
	const untimed = new LineAssembler(false);
	untimed.frame(1, Buffer.from('a\nb'), plain);
	untimed.flush(plain, false);
	assert.deepEqual(plain, [
		{stream: 'stderr', time: null, text: 'a'},
		{stream: 'stderr', time: null, text: 'b'},
	]);
});

test('time cursor: resumes at the newest time seen, and knows the lines at exactly that time', () => {
	const cursor = new LogCursor();
	assert.equal(cursor.since(), undefined, 'nothing read: from the tail');
	cursor.advance(line(2, 'b'));
	// A stderr line stamped earlier arrives after: the cursor does not go back.
	cursor.advance(line(1, 'a', 'stderr'));
	cursor.advance(line(2, 'c'));
	cursor.advance({stream: 'stdout', time: null, text: 'no time'});
	assert.equal(cursor.time, t(2));
	assert.equal(cursor.since(), nsToApiTime(ns(2)));
	assert.equal(cursor.since(), `${ns(2) / 1_000_000_000n}.000000000`);
	// Reading again from `since` returns the lines at t(2) again: those are repeats.
	assert.equal(cursor.isRepeat(line(2, 'b')), true);
	assert.equal(cursor.isRepeat(line(2, 'c')), true);
	assert.equal(cursor.isRepeat(line(2, 'd')), false, 'a new line at the same time is not');
	assert.equal(cursor.isRepeat(line(1, 'a')), false);
	cursor.reset();
	assert.equal(cursor.isRepeat(line(2, 'b')), false);
	assert.equal(cursor.since(), undefined);
});

test('restart markers: each exit between the last line before it and the first after; one exit from two sources is one marker', () => {
	const markers = new RestartMarkers();
	const cursor = new LogCursor();
	markers.attach('c1', ns(0));
	markers.add({containerId: 'c1', timeNano: ns(3), exitCode: 2});
	// The same exit seen by inspect a few ms later, with no code: still one, code kept.
	markers.add({containerId: 'c1', timeNano: ns(3) + 2_000_000n, exitCode: null});
	markers.add({containerId: 'other', timeNano: ns(2), exitCode: 1});
	const out = takeLines([line(1, 'before'), line(4, 'after'), line(4, 'after again')], {id: 'c1', name: 'shop-web-1'}, cursor, markers);
	assert.deepEqual(
		out.map(l => `${l.marker ? 'M ' : ''}${l.text}`),
		['before', 'M ── container shop-web-1 restarted (exit 2) ──', 'after', 'after again'],
	);
	assert.equal(markers.pending('c1'), false);
	// A resumed read returns the lines at the cursor's time again: dropped.
	assert.deepEqual(takeLines([line(4, 'after'), line(5, 'new')], {id: 'c1', name: 'shop-web-1'}, cursor, markers).map(l => l.text), ['new']);
	// An exit already marked (or before the run attached to) is not marked again.
	markers.add({containerId: 'c1', timeNano: ns(3), exitCode: 2});
	assert.equal(markers.pending('c1'), false);
});

test('restart markers: the exits before a new run, up to its start; attaching drops other containers\' exits', () => {
	const markers = new RestartMarkers();
	markers.attach('c1', ns(0));
	markers.add({containerId: 'c1', timeNano: ns(2), exitCode: 1});
	markers.add({containerId: 'c1', timeNano: ns(6), exitCode: 3});
	markers.add({containerId: 'c2', timeNano: ns(4), exitCode: 0});
	assert.deepEqual(
		markers.until('c1', ns(5), 'web').map(l => l.text),
		['── container web restarted (exit 1) ──'],
	);
	assert.equal(markers.lastNs, ns(2));
	assert.equal(markers.pending('c1'), true, 'the exit after the start is still to come');
	markers.attach('c2', ns(3));
	assert.equal(markers.pending('c1'), false);
	assert.deepEqual(markers.until('c2', null, 'web-2').map(l => l.text), ['── container web-2 restarted (exit 0) ──']);
	assert.deepEqual(markers.before('c2', null, 'web-2'), [], 'a line without a time places nothing');
});

const seen = (partial: Partial<ContainerSeen> = {}): ContainerSeen => ({
	id: 'c1',
	name: 'shop-web-1',
	tty: false,
	running: true,
	startedAt: t(1),
	created: t(0),
	...partial,
});

test('container tracker: attach, resume, a restart, a recreate, and waiting while down', () => {
	const tracker = new ContainerTracker();
	assert.deepEqual(tracker.next(seen({running: false, startedAt: '0001-01-01T00:00:00Z'}), false), {kind: 'wait'}, 'created, never started');
	assert.deepEqual(tracker.next(seen(), false), {kind: 'attach', marker: null}, 'the first container: no marker');
	assert.deepEqual(tracker.next(seen(), false), {kind: 'resume'});
	assert.deepEqual(tracker.next(seen(), true), {kind: 'wait'}, 'the stream just ended: look again shortly');
	assert.deepEqual(tracker.next(seen({running: false}), false), {kind: 'wait'}, 'down: wait for it to start or be replaced');
	assert.deepEqual(tracker.next(seen({startedAt: t(5)}), false), {kind: 'restarted', startNs: ns(5), previousNs: ns(1)});
	tracker.ran(t(5));
	assert.deepEqual(tracker.next(seen({startedAt: t(5)}), false), {kind: 'resume'});
	const recreated = tracker.next(seen({id: 'c2', name: 'shop-web-1-new', startedAt: t(7)}), false);
	assert.equal(recreated.kind, 'attach');
	assert.equal(recreated.kind === 'attach' && recreated.marker?.text, '── switched to container shop-web-1-new ──');
	assert.equal(recreated.kind === 'attach' && recreated.marker?.time, t(7));
	assert.equal(tracker.attached?.id, 'c2');
});
