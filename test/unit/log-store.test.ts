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
