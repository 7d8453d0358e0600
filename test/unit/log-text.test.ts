// The capture reads a container's log as text straight from the Engine's bytes
// (LogStreamReader into LogTextAssembler): it must say exactly what the line-by-line reading
// (LineAssembler's LogLine objects, formatted `TIME STREAM TEXT`) says, however the stream is cut.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {LineAssembler, LogStreamReader, LogTextAssembler} from '../../source/engine/log-line-assembler.js';
import type {LogLine} from '../../source/engine/types.js';

const t = (n: number) => `2026-11-22T03:00:${String(n % 60).padStart(2, '0')}.${String(n).padStart(9, '0')}Z`;

function frame(kind: 0 | 1 | 2, payload: Buffer): Buffer {
	const header = Buffer.alloc(8);
	header[0] = kind;
	header.writeUInt32BE(payload.length, 4);
	return Buffer.concat([header, payload]);
}

/** What the Engine sends for a non-TTY container: one frame per message, json-file's 16 KiB parts each stamped again. */
function multiplexed(messages: Array<{kind: 1 | 2; text: Buffer; newline?: boolean}>): Buffer {
	const frames: Buffer[] = [];
	messages.forEach(({kind, text, newline = true}, i) => {
		const body = Buffer.concat([text, Buffer.from(newline ? '\n' : '')]);
		for (let at = 0; at < body.length || at === 0; at += 16 * 1024) {
			frames.push(frame(kind, Buffer.concat([Buffer.from(`${t(i)} `), body.subarray(at, at + 16 * 1024)])));
			if (body.length === 0) break;
		}
	});
	return Buffer.concat(frames);
}

/** The reference: whole frames to LineAssembler, each line formatted as the evidence holds it. */
function byLine(stream: Buffer, tty: boolean): string {
	const lines: LogLine[] = [];
	const assembler = new LineAssembler(true, 'latin1');
	if (tty) assembler.raw(stream, lines);
	else {
		for (let at = 0; at + 8 <= stream.length; ) {
			const size = stream.readUInt32BE(at + 4);
			if (stream[at] !== 0) assembler.frame(stream[at] === 1 ? 0 : 1, stream.subarray(at + 8, at + 8 + size), lines);
			at += 8 + size;
		}
	}
	assembler.flush(lines, tty);
	return lines.map(line => `${line.time ?? '-'} ${line.stream} ${line.text}\n`).join('');
}

/** The capture's way, the stream cut at `cuts`. */
function asText(stream: Buffer, tty: boolean, cuts: number[]): string {
	const lines = new LogTextAssembler(true);
	const reader = new LogStreamReader(lines, tty);
	let text = '';
	let from = 0;
	for (const cut of [...cuts, stream.length]) {
		reader.chunk(stream.subarray(from, cut), []);
		text += lines.take();
		from = cut;
	}
	reader.end([]);
	return text + lines.take();
}

let seed = 7;
const random = (n: number) => {
	seed = (seed * 1103515245 + 12345) % 2 ** 31;
	// The high bits: the generator's low ones repeat with a short period.
	return Math.floor((seed / 2 ** 31) * n);
};
const cutsOf = (length: number, count: number) => [...new Set(Array.from({length: count}, () => random(length + 1)))].sort((a, b) => a - b);

const messages = [
	{kind: 1 as const, text: Buffer.from('level=info token=abc123 plain')},
	{kind: 2 as const, text: Buffer.from('an error\r')},
	{kind: 1 as const, text: Buffer.from('')},
	{kind: 1 as const, text: Buffer.from('bad utf8: \xc3\x28 \xa0\xa1 binary \x00\x01\x7f\xfe\xff', 'latin1')},
	{kind: 2 as const, text: Buffer.alloc(40_000, 'y')},
	{kind: 1 as const, text: Buffer.from('crlf in the middle\r of a line\r\r')},
	{kind: 1 as const, text: Buffer.from('no newline at the end'), newline: false},
];

test('log as text: the same lines as line by line, however the multiplexed stream is cut', () => {
	const stream = Buffer.concat([multiplexed(messages), frame(0, Buffer.from('stdin is not the log\n'))]);
	const expected = byLine(stream, false);
	assert.match(expected, /^2026-11-22T03:00:00\.000000000Z stdout level=info token=abc123 plain\n2026-11-22T03:00:01\.000000001Z stderr an error\n/);
	assert.ok(expected.includes(` stderr ${'y'.repeat(40_000)}\n`), 'the 16 KiB parts joined into one line');
	assert.ok(!expected.includes('stdin'));
	assert.equal(asText(stream, false, []), expected);
	for (let i = 0; i < 300; i++) assert.equal(asText(stream, false, cutsOf(stream.length, 1 + random(40))), expected);
	// Every cut within the first frames, one byte at a time.
	assert.equal(asText(stream, false, Array.from({length: 200}, (_, i) => i)), expected);
});

test('log as text: a TTY stream, lines without a timestamp, and a stream that turns out not to be multiplexed', () => {
	const raw = Buffer.from(`${t(1)} one\r\n${t(2)} two\nno time here\n${t(3)} last`);
	const expected = byLine(raw, true);
	assert.equal(expected, `${t(1)} stdout one\n${t(2)} stdout two\n- stdout no time here\n${t(3)} stdout last\n`);
	for (let i = 0; i < 100; i++) assert.equal(asText(raw, true, cutsOf(raw.length, 1 + random(10))), expected);
	// Told "not a TTY", the first bytes are no frame header: read raw from there.
	for (let i = 0; i < 100; i++) assert.equal(asText(raw, false, cutsOf(raw.length, 1 + random(10))), expected);
});
