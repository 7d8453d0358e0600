// The capture reads a json-file log from its files: it must say exactly what the Engine says
// when it serves the same file (GET /logs?timestamps=1, read by LogStreamReader into
// LogTextAssembler, the capture's other way), however the file is cut into reads.
import assert from 'node:assert/strict';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {gzipSync} from 'node:zlib';
import {JsonFileLogConverter, jsonFileLogPath, jsonFileLogText, openJsonFileLog} from '../../source/engine/json-file-log.js';
import {LogStreamReader, LogTextAssembler} from '../../source/engine/log-line-assembler.js';

let seed = 11;
// The generator's high bits: its low ones repeat with a short period.
const random = (n: number) => {
	seed = (seed * 1103515245 + 12345) % 2 ** 31;
	return Math.floor((seed / 2 ** 31) * n);
};
const pick = <T>(values: readonly T[]): T => values[random(values.length)]!;

interface Entry {
	log: string;
	stream: 'stdout' | 'stderr';
	nanos: number;
	attrs?: boolean;
}

const seconds = (i: number) => `2026-11-27T21:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
/** As json-file writes a time: RFC 3339 with the nanoseconds' trailing zeros dropped. */
const fileTime = (i: number, nanos: number) => `${seconds(i)}${nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`}Z`;
/** As the Engine serves it with timestamps=1: always nine digits. */
const engineTime = (i: number, nanos: number) => `${seconds(i)}.${String(nanos).padStart(9, '0')}Z`;
/** A string as Go's encoder writes it: also <, >, & and the line separators escaped. */
const goString = (s: string) => JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function fileLine(entry: Entry, i: number): string {
	const attrs = entry.attrs ? `,"attrs":{"tag":"a\\"b","time":"x"}` : '';
	return `{"log":${goString(entry.log)},"stream":"${entry.stream}"${attrs},"time":"${fileTime(i, entry.nanos)}"}\n`;
}

function frame(kind: 1 | 2, payload: Buffer): Buffer {
	const header = Buffer.alloc(8);
	header[0] = kind;
	header.writeUInt32BE(payload.length, 4);
	return Buffer.concat([header, payload]);
}

/** What the Engine serves for the same entries: a frame each, its time in front. */
function engineAnswer(entries: readonly Entry[]): string {
	const stream = Buffer.concat(entries.map((e, i) => frame(e.stream === 'stdout' ? 1 : 2, Buffer.from(`${engineTime(i, e.nanos)} ${e.log}`, 'utf8'))));
	const lines = new LogTextAssembler(true);
	const reader = new LogStreamReader(lines, false);
	reader.chunk(stream, []);
	reader.end([]);
	return lines.take();
}

function converted(file: Buffer, cuts: number[]): string {
	const converter = new JsonFileLogConverter();
	let text = '';
	let from = 0;
	for (const cut of [...cuts, file.length]) {
		converter.push(file.subarray(from, cut));
		text += converter.take();
		from = cut;
	}
	converter.endFile(false);
	converter.flush();
	return text + converter.take();
}

const pieces = ['level=info', ' ', 'msg="quoted"', 'path=C:\\dir\\file', '\t', 'café', '☕', '😀', '<a href="x">&amp;</a>', '\u2028', '\u0001\u001b[31mred\u001b[0m', '\uFFFD', 'token=abc123', '\r', '{"json":[1,2]}', 'ünïcödé'];

function randomEntries(count: number): Entry[] {
	const entries: Entry[] = [];
	while (entries.length < count) {
		const stream = random(4) === 0 ? 'stderr' : 'stdout';
		const nanos = pick([0, 100_000_000, 123_456_000, 123_456_789, 1, random(1e9)]);
		const text = Array.from({length: random(12)}, () => pick(pieces)).join('');
		if (random(15) === 0) {
			// A message over 16 KiB: json-file writes it in parts, only the last with its newline; the other stream may write between them.
			const long = `${text}${'x'.repeat(16 * 1024 * (1 + random(2)) + random(100))}`;
			for (let at = 0; at < long.length; at += 16 * 1024) {
				const last = at + 16 * 1024 >= long.length;
				entries.push({log: long.slice(at, at + 16 * 1024) + (last ? '\n' : ''), stream, nanos});
				if (!last && random(3) === 0) entries.push({log: 'between the parts\n', stream: stream === 'stdout' ? 'stderr' : 'stdout', nanos: 5});
			}
		} else {
			entries.push({log: `${text}${random(8) === 0 ? '\r' : ''}\n`, stream, nanos, attrs: random(10) === 0});
		}
	}
	return entries;
}

test('json-file log: the same lines the Engine serves for the file, however the file is cut', () => {
	for (let round = 0; round < 60; round++) {
		const entries = randomEntries(40 + random(60));
		const file = Buffer.from(entries.map(fileLine).join(''), 'utf8');
		const expected = engineAnswer(entries);
		assert.equal(converted(file, []), expected, `round ${round}, read whole`);
		for (let i = 0; i < 5; i++) {
			const cuts = [...new Set(Array.from({length: 1 + random(30)}, () => random(file.length + 1)))].sort((a, b) => a - b);
			assert.equal(converted(file, cuts), expected, `round ${round}, cut at ${cuts.join(',')}`);
		}
	}
	// And a few byte by byte.
	const entries = randomEntries(12);
	const file = Buffer.from(entries.map(fileLine).join(''), 'utf8');
	assert.equal(converted(file, Array.from({length: file.length}, (_, i) => i)), engineAnswer(entries));
});

test('json-file log: the line the evidence holds, its time in the Engine\'s format', () => {
	const file = Buffer.from(
		[
			fileLine({log: 'plain\n', stream: 'stdout', nanos: 120_000_000}, 1),
			fileLine({log: 'on the second\r\n', stream: 'stderr', nanos: 0}, 2),
			fileLine({log: 'quote " backslash \\ tab \t lt < emoji 😀\n', stream: 'stdout', nanos: 123_456_789, attrs: true}, 3),
			'this line is not JSON\n',
		].join(''),
	);
	assert.equal(
		converted(file, []),
		[
			`${seconds(1)}.120000000Z stdout plain\n`,
			`${seconds(2)}.000000000Z stderr on the second\n`,
			`${seconds(3)}.123456789Z stdout quote " backslash \\ tab \t lt < emoji ${Buffer.from('😀').toString('latin1')}\n`,
			'- stdout this line is not JSON\n',
		].join(''),
	);
});

test('json-file log: a line cut off at the end of the current file is left out; a rotated file\'s last line is kept', () => {
	const whole = fileLine({log: 'whole\n', stream: 'stdout', nanos: 1}, 1);
	const cut = fileLine({log: 'being written\n', stream: 'stdout', nanos: 2}, 2).slice(0, 20);
	const current = new JsonFileLogConverter();
	current.push(Buffer.from(whole + cut));
	current.endFile(false);
	current.flush();
	assert.equal(current.take(), `${seconds(1)}.000000001Z stdout whole\n`);

	const rotated = new JsonFileLogConverter();
	rotated.push(Buffer.from(whole + whole.trimEnd()));
	rotated.endFile(true);
	assert.equal(rotated.take(), `${seconds(1)}.000000001Z stdout whole\n`.repeat(2));
});

test('json-file log: a split message the log ends in is a line of its own', () => {
	const converter = new JsonFileLogConverter();
	converter.push(Buffer.from(fileLine({log: 'first part, ', stream: 'stderr', nanos: 7}, 1) + fileLine({log: 'second part', stream: 'stderr', nanos: 8}, 2)));
	converter.endFile(false);
	assert.equal(converter.take(), '');
	converter.flush();
	assert.equal(converter.take(), `${seconds(1)}.000000007Z stderr first part, second part\n`);
});

test('json-file log: only a json-file log of the container itself', () => {
	const id = 'a'.repeat(64);
	const inspect = (driver: string, logPath: string) => ({Id: id, LogPath: logPath, HostConfig: {LogConfig: {Type: driver}}});
	assert.equal(jsonFileLogPath(inspect('json-file', `/var/lib/docker/containers/${id}/${id}-json.log`)), `/var/lib/docker/containers/${id}/${id}-json.log`);
	assert.equal(jsonFileLogPath(inspect('local', `/var/lib/docker/containers/${id}/local-logs/container.log`)), null);
	assert.equal(jsonFileLogPath(inspect('json-file', '/tmp/other-json.log')), null);
	assert.equal(jsonFileLogPath(inspect('json-file', '')), null);
	assert.equal(jsonFileLogPath(null), null);
});

test('json-file log: the rotated files oldest first (compressed or not), then the current one', async () => {
	const dir = await mkdtemp(path.join(tmpdir(), 'rc-json-log-'));
	try {
		const base = path.join(dir, `${'b'.repeat(64)}-json.log`);
		const line = (text: string, i: number) => fileLine({log: `${text}\n`, stream: 'stdout', nanos: i}, i);
		await writeFile(`${base}.3.gz`, gzipSync(line('oldest, compressed', 1)));
		await writeFile(`${base}.2.gz`, gzipSync(line('older, compressed', 2)));
		// Being compressed: the plain file is whole, its .gz perhaps not yet.
		await writeFile(`${base}.1`, line('rotated last', 3));
		await writeFile(`${base}.1.gz`, gzipSync('{"log":"half'));
		await writeFile(`${base}.bak`, line('not a log file', 9));
		await writeFile(base, line('current', 4) + line('being written', 5).slice(0, 30));
		const log = await openJsonFileLog(base);
		assert.ok(log);
		assert.deepEqual(
			log.files.map(f => path.basename(f.name).slice(64)),
			['-json.log.3.gz', '-json.log.2.gz', '-json.log.1', '-json.log'],
		);
		let text = '';
		for await (const block of jsonFileLogText(log, new AbortController().signal)) text += block;
		assert.equal(
			text,
			['oldest, compressed', 'older, compressed', 'rotated last', 'current'].map((t, i) => `${seconds(i + 1)}.00000000${i + 1}Z stdout ${t}\n`).join(''),
		);
		// Only the newest: the current file from its beginning, the rotated ones left (the compressed ones counted whole).
		const newest = await openJsonFileLog(base);
		assert.ok(newest);
		let unread = 0;
		let tail = '';
		for await (const block of jsonFileLogText(newest, new AbortController().signal, {newest: 1, onUnread: bytes => (unread = bytes)})) tail += block;
		assert.equal(tail, `${seconds(4)}.000000004Z stdout current\n`);
		assert.equal(unread, newest.files.slice(0, -1).reduce((sum, f) => sum + f.size, 0));
		assert.equal(await openJsonFileLog(path.join(dir, 'missing-json.log')), null);
	} finally {
		await rm(dir, {recursive: true, force: true});
	}
});

test('json-file log: of a log far past what is kept only the newest part is read, from a whole line, and what was left is said', async () => {
	const dir = await mkdtemp(path.join(tmpdir(), 'rc-json-log-tail-'));
	try {
		const base = path.join(dir, `${'c'.repeat(64)}-json.log`);
		// Three plain files, the parts of long messages anywhere (also across a read's 1 MiB).
		const entries = randomEntries(9000);
		const lines = entries.map(fileLine);
		const third = Math.floor(lines.length / 3);
		const files = [lines.slice(0, third), lines.slice(third, 2 * third), lines.slice(2 * third)].map(part => Buffer.from(part.join(''), 'utf8'));
		await writeFile(`${base}.2`, files[0]!);
		await writeFile(`${base}.1`, files[1]!);
		await writeFile(base, files[2]!);
		const all = Buffer.concat(files);
		const read = async (newest?: number) => {
			const log = await openJsonFileLog(base);
			assert.ok(log);
			let unread = 0;
			let text = '';
			for await (const block of jsonFileLogText(log, new AbortController().signal, newest === undefined ? {} : {newest, onUnread: bytes => (unread = bytes)})) text += block;
			return {text, unread};
		};
		const {text: full} = await read();
		assert.equal(full, engineAnswer(entries));
		const longest = Math.max(...full.split('\n').map(line => line.length + 1));
		for (const newest of [5_000, 300_000, Math.floor(full.length / 2), full.length - 10_000, full.length * 2]) {
			const {text: tail, unread} = await read(newest);
			if (unread === 0) {
				assert.equal(tail, full, `newest ${newest}: nothing left, all read`);
				continue;
			}
			assert.ok(newest < full.length);
			assert.ok(full.endsWith(tail) && full[full.length - tail.length - 1] === '\n', `newest ${newest}: the end of the log, from a whole line`);
			assert.ok(tail.length + longest >= newest, `newest ${newest}: at least that much, give or take a line (${tail.length})`);
			// What was left is exactly the bytes before the line the reading began with.
			assert.equal(all[unread - 1], 0x0a);
			assert.equal(converted(all.subarray(unread), []), tail, `newest ${newest}: the files' bytes after the unread ones`);
		}
	} finally {
		await rm(dir, {recursive: true, force: true});
	}
});
