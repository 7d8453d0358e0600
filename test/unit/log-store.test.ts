import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {LogLine} from '../../source/engine/types.js';
import {compileFilter, LogRing, LogStore} from '../../source/incident/log-store.js';

const lines = (from: number, to: number, prefix = 'line'): LogLine[] =>
	Array.from({length: to - from + 1}, (_, i) => ({stream: 'stdout', time: null, text: `${prefix} ${from + i}`}));

test('a ring keeps the newest lines, oldest first, and never grows past capacity', () => {
	const ring = new LogRing(3);
	for (const [i, line] of lines(1, 5).entries()) ring.push({...line, service: 'web', seq: i + 1});
	assert.equal(ring.size, 3);
	assert.deepEqual(ring.tail().map(l => l.text), ['line 3', 'line 4', 'line 5']);
	assert.deepEqual(ring.tail(2).map(l => l.text), ['line 4', 'line 5']);
});

test('a flood is bounded per service; other services keep their lines', () => {
	const store = new LogStore(1000);
	store.append('db', lines(1, 10, 'db'));
	for (let batch = 0; batch < 100; batch++) store.append('web', lines(batch * 1000 + 1, batch * 1000 + 1000, 'web'));
	assert.equal(store.received, 100_010);
	assert.equal(store.ring('web').size, 1000);
	assert.equal(store.tail(['web'], 1)[0]!.text, 'web 100000');
	assert.equal(store.tail(['db'], 100).length, 10);
});

test('all services interleave in arrival order; a pause point hides newer lines', () => {
	const store = new LogStore(100);
	store.append('web', lines(1, 2, 'web'));
	store.append('db', lines(1, 1, 'db'));
	store.append('web', lines(3, 3, 'web'));
	assert.deepEqual(store.tail(['db', 'web'], 10).map(l => l.text), ['web 1', 'web 2', 'db 1', 'web 3']);
	assert.deepEqual(store.tail(['db', 'web'], 2).map(l => l.text), ['db 1', 'web 3']);
	const pausedAt = 3;
	assert.deepEqual(store.tail(['web'], 10, pausedAt).map(l => l.text), ['web 1', 'web 2']);
});

test('listeners hear each batch', () => {
	const store = new LogStore(10);
	let heard = 0;
	const off = store.subscribe(() => heard++);
	store.append('web', lines(1, 3));
	store.append('web', []);
	off();
	store.append('web', lines(4, 4));
	assert.equal(heard, 1);
});

test('a filter is a case-insensitive regex, or the text as typed when it is not one', () => {
	assert.equal(compileFilter('panic|fatal').test('PANIC: boom'), true);
	assert.equal(compileFilter('panic|fatal').test('ok'), false);
	const broken = compileFilter('nil (pointer');
	assert.ok(broken.error);
	assert.equal(broken.test('invalid memory address or nil (pointer dereference'), true);
	assert.equal(compileFilter('').test('anything'), true);
});

test('a ring keeps each line whole (time, stream, marker, UTF-8 text) and hands back fresh objects', () => {
	const ring = new LogRing(4);
	ring.push({stream: 'stderr', time: '2026-01-02T03:04:05.123456789Z', text: 'panic: ünïcödé ✓ 🚀', service: 'web', seq: 7});
	ring.push({stream: 'stdout', time: null, text: '── container restarted ──', marker: true, service: 'web', seq: 8});
	ring.push({stream: 'stdout', time: null, text: '', service: 'web', seq: 9});
	assert.deepEqual(ring.tail(), [
		{stream: 'stderr', time: '2026-01-02T03:04:05.123456789Z', text: 'panic: ünïcödé ✓ 🚀', service: 'web', seq: 7},
		{stream: 'stdout', time: null, text: '── container restarted ──', marker: true, service: 'web', seq: 8},
		{stream: 'stdout', time: null, text: '', service: 'web', seq: 9},
	]);
	assert.notEqual(ring.tail()[0], ring.tail()[0]);
});

test('a ring keeps the newest lines in order across the slab wrapping round, within its bytes', () => {
	// Lines of random length (some long) through a small ring: what it keeps is always the
	// newest lines, whole and in order, within its byte budget.
	const ring = new LogRing(200);
	let seed = 42;
	const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
	const pushed: string[] = [];
	for (let i = 1; i <= 20_000; i++) {
		const text = `${i} ${'x'.repeat(Math.floor(random() ** 4 * 40_000))}`;
		pushed.push(text);
		ring.push({stream: 'stdout', time: null, text, service: 'web', seq: i});
		if (i % 997 === 0 || i === 20_000) {
			const kept = ring.tail();
			assert.ok(kept.length >= 1 && kept.length <= 200);
			assert.deepEqual(kept.map(l => l.text), pushed.slice(-kept.length), `after ${i}`);
			assert.deepEqual(kept.map(l => l.seq), kept.map((_, k) => i - kept.length + 1 + k));
			assert.ok(kept.reduce((sum, l) => sum + Buffer.byteLength(l.text), 0) <= ring.maxBytes);
		}
	}
	// Short lines: every one of the last 200 is kept.
	for (let i = 1; i <= 1000; i++) ring.push({stream: 'stdout', time: null, text: `short ${i}`, service: 'web', seq: 20_000 + i});
	assert.equal(ring.size, 200);
	assert.equal(ring.tail(1)[0]!.text, 'short 1000');
});

test('a line past 64 KiB is kept cut, on a character boundary, marked with …', () => {
	const ring = new LogRing(10);
	ring.push({stream: 'stdout', time: null, text: 'é'.repeat(100_000), service: 'web', seq: 1});
	const [line] = ring.tail();
	assert.ok(Buffer.byteLength(line!.text) <= 64 * 1024);
	assert.match(line!.text, /^é+ …$/);
});
