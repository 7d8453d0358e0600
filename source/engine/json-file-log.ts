// A container's whole log read from the json-file driver's own files, as the Engine's
// GET /containers/{id}/logs?timestamps=1 serves it, for the evidence. The Engine decodes and
// re-encodes every line of a full log: on the 2-core test box one 6 MB log takes it 180 ms and
// three take 540 ms (no faster than one after another), its CPU taken from a box already in
// trouble; converting the same 18 MB here takes ~75 ms. Only where the files are the
// container's (their name carries its ID) and readable (root); otherwise, and when a rotation
// keeps moving them while they are opened, the Engine's answer is read instead.
import {createReadStream} from 'node:fs';
import {open, readdir, stat, type FileHandle} from 'node:fs/promises';
import path from 'node:path';
import {pipeline} from 'node:stream';
import {createGunzip} from 'node:zlib';

const newline = 0x0a;
const quote = 0x22;
const backslash = 0x5c;
const logKey = Buffer.from('{"log":"');
const streamKey = Buffer.from('","stream":"std');
const timeKey = Buffer.from(',"time":"');
// A block handed on once this big (as the Engine path does): redacted and written at once.
const blockBytes = 64 * 1024;
const readBytes = 1024 * 1024;

/** The json-file log of a container as its inspect names it, or null (another driver, no file, not this container's). */
export function jsonFileLogPath(inspect: Record<string, unknown> | null | undefined): string | null {
	if (!inspect) return null;
	const id = inspect['Id'];
	const logPath = inspect['LogPath'];
	const driver = (inspect['HostConfig'] as {LogConfig?: {Type?: unknown}} | undefined)?.LogConfig?.Type;
	if (driver !== 'json-file' || typeof id !== 'string' || typeof logPath !== 'string') return null;
	return path.basename(logPath) === `${id}-json.log` ? logPath : null;
}

/** ASCII hex digit's value, or -1. */
function hexValue(c: number): number {
	if (c >= 0x30 && c <= 0x39) return c - 0x30;
	const lower = c | 0x20;
	return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

function hex4(buffer: Buffer, at: number): number {
	const a = hexValue(buffer[at]!);
	const b = hexValue(buffer[at + 1]!);
	const c = hexValue(buffer[at + 2]!);
	const d = hexValue(buffer[at + 3]!);
	return a < 0 || b < 0 || c < 0 || d < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

function writeUtf8(target: Buffer, at: number, cp: number): number {
	if (cp < 0x80) {
		target[at] = cp;
		return at + 1;
	}
	if (cp < 0x800) {
		target[at] = 0xc0 | (cp >> 6);
		target[at + 1] = 0x80 | (cp & 0x3f);
		return at + 2;
	}
	if (cp < 0x10000) {
		target[at] = 0xe0 | (cp >> 12);
		target[at + 1] = 0x80 | ((cp >> 6) & 0x3f);
		target[at + 2] = 0x80 | (cp & 0x3f);
		return at + 3;
	}
	target[at] = 0xf0 | (cp >> 18);
	target[at + 1] = 0x80 | ((cp >> 12) & 0x3f);
	target[at + 2] = 0x80 | ((cp >> 6) & 0x3f);
	target[at + 3] = 0x80 | (cp & 0x3f);
	return at + 4;
}

/**
 * Decodes the JSON string starting at `from` (after its opening quote) into `target` at `at`
 * as UTF-8, as JSON.parse then Buffer.from(…, 'utf8') would. Returns [the closing quote's
 * index, where the bytes end, how many newlines they hold], or null for anything it does not
 * know (the caller parses the line with JSON.parse). Decoding never makes the bytes longer than their JSON.
 */
function decodeString(source: Buffer, from: number, end: number, target: Buffer, at: number): [number, number, number] | null {
	let i = from;
	let w = at;
	let newlines = 0;
	while (i < end) {
		const c = source[i]!;
		if (c === quote) return [i, w, newlines];
		if (c !== backslash) {
			if (c < 0x20) return null;
			target[w++] = c;
			i++;
			continue;
		}
		const e = source[i + 1];
		i += 2;
		switch (e) {
			case 0x6e: target[w++] = 0x0a; newlines++; break; // \n
			case 0x74: target[w++] = 0x09; break; // \t
			case 0x72: target[w++] = 0x0d; break; // \r
			case 0x22: target[w++] = 0x22; break; // \"
			case 0x5c: target[w++] = 0x5c; break; // \\
			case 0x2f: target[w++] = 0x2f; break; // \/
			case 0x62: target[w++] = 0x08; break; // \b
			case 0x66: target[w++] = 0x0c; break; // \f
			case 0x75: {
				if (i + 4 > end) return null;
				let cp = hex4(source, i);
				if (cp < 0) return null;
				i += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && source[i] === backslash && source[i + 1] === 0x75 && i + 6 <= end) {
					const low = hex4(source, i + 2);
					if (low >= 0xdc00 && low < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
						i += 6;
					}
				}
				// A lone surrogate is U+FFFD, as Buffer.from gives it (Go's encoder never writes one).
				w = writeUtf8(target, w, cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp);
				break;
			}
			default:
				return null;
		}
	}
	return null;
}

/** Whether buffer[at, at + key.length) is `key`. */
function startsWith(buffer: Buffer, at: number, key: Buffer): boolean {
	if (at + key.length > buffer.length) return false;
	for (let k = 0; k < key.length; k++) if (buffer[at + k] !== key[k]) return false;
	return true;
}

/** The Engine's time format for `timestamps=1`: nanoseconds always nine digits (json-file drops trailing zeros). */
function fixedTime(time: string): string {
	const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(time);
	return match ? `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}Z` : time;
}

/** A time as the evidence writes it: its bytes, and where they lie. */
interface Stamp {
	bytes: Buffer;
	start: number;
	end: number;
}

const dash: Stamp = {bytes: Buffer.from('-'), start: 0, end: 1};
const streamNames = [Buffer.from(' stdout '), Buffer.from(' stderr ')] as const;
// Room before a message decoded in place for its head: a fixed time (30) and a stream (8).
const inPlaceRoom = 40;

/** A time of json-file's (in `bytes[start, end)`) in the Engine's format: as it lies when it already is. */
function stampOf(bytes: Buffer, start: number, end: number): Stamp {
	if (end - start === 30 && bytes[start + 19] === 0x2e && bytes[end - 1] === 0x5a) return {bytes, start, end};
	const fixed = Buffer.from(fixedTime(bytes.toString('latin1', start, end)), 'latin1');
	return {bytes: fixed, start: 0, end: fixed.length};
}

/** A stamp that outlives the buffer it lay in. */
const keptStamp = (stamp: Stamp): Stamp => ({bytes: Buffer.from(stamp.bytes.subarray(stamp.start, stamp.end)), start: 0, end: stamp.end - stamp.start});

interface Partial {
	stamp: Stamp;
	parts: Buffer[];
}

/**
 * json-file's lines (`{"log":"…","stream":"stdout","time":"…"}`) into the evidence's
 * `TIME STREAM TEXT\n` lines, latin1, written into one buffer (LogTextAssembler's format): a
 * message json-file split at 16 KiB is joined under its first part's time, a final `\r` of a
 * line dropped. Lines of another shape (with attrs) go through JSON.parse; a line that is not
 * JSON at all is kept as it is, with `-` for its time.
 */
export class JsonFileLogConverter {
	#out = Buffer.allocUnsafe(256 * 1024);
	#length = 0;
	readonly #partial: [Partial | null, Partial | null] = [null, null];
	// The start of a line whose newline is in the next chunk.
	#rest: Buffer | null = null;

	/** Bytes converted since the last take(). */
	get size(): number {
		return this.#length;
	}

	/** Forgets the lines converted since the last take() (a count was all that was wanted). */
	discard(): void {
		this.#length = 0;
	}

	/** The lines converted since the last take(). */
	take(): string {
		const text = this.#out.toString('latin1', 0, this.#length);
		this.#length = 0;
		return text;
	}

	/** The next bytes of a file: its whole lines converted, a line cut at the end kept for the next chunk. */
	push(chunk: Buffer): void {
		let start = 0;
		if (this.#rest) {
			const eol = chunk.indexOf(newline);
			if (eol === -1) {
				this.#rest = Buffer.concat([this.#rest, chunk]);
				return;
			}
			// Joined up to its newline; the rest of the chunk is read where it lies.
			this.#lines(Buffer.concat([this.#rest, chunk.subarray(0, eol + 1)]), 0);
			this.#rest = null;
			start = eol + 1;
		}
		const end = this.#lines(chunk, start);
		if (end < chunk.length) this.#rest = Buffer.from(chunk.subarray(end));
	}

	/**
	 * A file ended. A rotated file ends in a whole line (`complete`: its last one is taken even
	 * without a newline); the current one may end in a line json-file is still writing: left out.
	 */
	endFile(complete: boolean): void {
		if (this.#rest && complete) this.#lines(Buffer.concat([this.#rest, Buffer.from([newline])]), 0);
		this.#rest = null;
	}

	/** The messages still waiting for their rest, as lines: the log ended there. */
	flush(): void {
		for (const index of [0, 1] as const) {
			const partial = this.#partial[index];
			if (!partial) continue;
			this.#partial[index] = null;
			const text = Buffer.concat(partial.parts);
			this.#emit(partial.stamp, index, text, 0, text.length);
		}
	}

	/** Converts each whole line of `buffer` from `start`; returns where the rest (a line without its newline yet) starts. */
	#lines(buffer: Buffer, start: number): number {
		let at = start;
		for (let eol = buffer.indexOf(newline, at); eol !== -1; eol = buffer.indexOf(newline, at)) {
			if (eol > at) this.#entry(buffer, at, eol);
			at = eol + 1;
		}
		return at;
	}

	#entry(buffer: Buffer, start: number, end: number): void {
		// The shape json-file writes without attrs: log, stream, then time last.
		if (startsWith(buffer, start, logKey) && buffer[end - 1] === 0x7d && buffer[end - 2] === quote) {
			const timeStart = buffer.lastIndexOf(quote, end - 3) + 1;
			const streamEnd = timeStart - timeKey.length;
			if (timeStart > start && startsWith(buffer, streamEnd, timeKey)) {
				// Decoded into our buffer after room for the head, which comes first (#emit moves the text down).
				this.#room(inPlaceRoom + (end - start));
				const textAt = this.#length + inPlaceRoom;
				const decoded = decodeString(buffer, start + logKey.length, streamEnd, this.#out, textAt);
				if (decoded) {
					const [close, textEnd, newlines] = decoded;
					// After the text: `","stream":"stdout"` or `…"stderr"`, and the time right after it.
					const name = close + streamKey.length;
					const index =
						buffer[name] === 0x6f && buffer[name + 1] === 0x75 && buffer[name + 2] === 0x74 ? 0 : buffer[name] === 0x65 && buffer[name + 1] === 0x72 && buffer[name + 2] === 0x72 ? 1 : -1;
					if (index !== -1 && buffer[name + 3] === quote && name + 4 === streamEnd && startsWith(buffer, close, streamKey)) {
						const stamp = stampOf(buffer, timeStart, end - 2);
						// A message is one line (json-file splits at newlines): one that holds more is copied out of our buffer first (#emit).
						if (newlines <= 1) this.#message(stamp, index, this.#out, textAt, textEnd);
						else this.#message(stamp, index, Buffer.from(this.#out.subarray(textAt, textEnd)), 0, textEnd - textAt);
						return;
					}
				}
			}
		}
		this.#parsed(buffer, start, end);
	}

	#parsed(buffer: Buffer, start: number, end: number): void {
		let entry: {log?: unknown; stream?: unknown; time?: unknown};
		try {
			entry = JSON.parse(buffer.toString('utf8', start, end)) as typeof entry;
		} catch {
			this.#emit(dash, 0, buffer, start, end);
			return;
		}
		const text = Buffer.from(typeof entry.log === 'string' ? entry.log : '', 'utf8');
		const time = typeof entry.time === 'string' ? Buffer.from(fixedTime(entry.time), 'latin1') : null;
		this.#message(time ? {bytes: time, start: 0, end: time.length} : dash, entry.stream === 'stderr' ? 1 : 0, text, 0, text.length);
	}

	/** One json-file message: a whole line (ends in a newline) or a part of one. `bytes` may be our own buffer (decoded in place). */
	#message(stamp: Stamp, index: 0 | 1, bytes: Buffer, start: number, end: number): void {
		const partial = this.#partial[index];
		if (end === start || bytes[end - 1] !== newline) {
			// Copied: the buffers they lie in are reused.
			const part = Buffer.from(bytes.subarray(start, end));
			if (partial) partial.parts.push(part);
			else this.#partial[index] = {stamp: keptStamp(stamp), parts: [part]};
			return;
		}
		if (partial) {
			this.#partial[index] = null;
			const text = Buffer.concat([...partial.parts, bytes.subarray(start, end - 1)]);
			this.#emit(partial.stamp, index, text, 0, text.length);
			return;
		}
		this.#emit(stamp, index, bytes, start, end - 1);
	}

	/** `TIME STREAM TEXT\n` of bytes[start, end) (its newline left off), a line each if it holds several. */
	#emit(stamp: Stamp, index: 0 | 1, bytes: Buffer, start: number, end: number): void {
		const head = stamp.end - stamp.start + streamNames[index].length;
		if (bytes === this.#out) {
			// Decoded in place (one line), after room for one head: moved down behind it. A longer
			// head would overwrite what is still to be moved: copied out first.
			if (head <= inPlaceRoom) {
				this.#line(stamp, index, bytes, start, end);
				return;
			}
			const copy = Buffer.from(bytes.subarray(start, end));
			this.#emit(stamp, index, copy, 0, copy.length);
			return;
		}
		for (let from = start; ; ) {
			const eol = bytes.indexOf(newline, from);
			const last = eol === -1 || eol >= end ? end : eol;
			this.#room(head + (last - from) + 1);
			this.#line(stamp, index, bytes, from, last);
			if (last === end) return;
			from = last + 1;
		}
	}

	/** One line at the end of our buffer (room made): head, text without a final `\r`, newline. */
	#line(stamp: Stamp, index: 0 | 1, bytes: Buffer, start: number, end: number): void {
		const out = this.#out;
		let at = this.#length;
		for (let i = stamp.start; i < stamp.end; i++) out[at++] = stamp.bytes[i]!;
		const name = streamNames[index];
		for (let i = 0; i < name.length; i++) out[at++] = name[i]!;
		const textEnd = end > start && bytes[end - 1] === 0x0d ? end - 1 : end;
		if (bytes === out) out.copyWithin(at, start, textEnd);
		else bytes.copy(out, at, start, textEnd);
		at += textEnd - start;
		out[at++] = newline;
		this.#length = at;
	}

	#room(bytes: number): void {
		if (this.#length + bytes <= this.#out.length) return;
		const bigger = Buffer.allocUnsafe(Math.max(this.#out.length * 2, this.#length + bytes));
		this.#out.copy(bigger, 0, 0, this.#length);
		this.#out = bigger;
	}
}

export interface OpenedJsonFileLog {
	/** Oldest first. */
	files: LogFile[];
	close(): Promise<void>;
}

interface LogFile {
	name: string;
	handle: FileHandle;
	/** Bytes when opened: what is read (the current file keeps growing). */
	size: number;
	gzip: boolean;
}

/** The log's files as they are, oldest first: `NAME.N[.gz]` … `NAME.1[.gz]`, then `NAME` (an uncompressed `.N` over its `.N.gz` being written). */
async function logFileNames(logPath: string): Promise<string[]> {
	const base = path.basename(logPath);
	const rotated = new Map<number, string>();
	for (const name of await readdir(path.dirname(logPath))) {
		if (!name.startsWith(`${base}.`)) continue;
		const match = /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1));
		if (!match) continue;
		const n = Number(match[1]);
		if (!match[2] || !rotated.has(n)) rotated.set(n, name);
	}
	return [...[...rotated].sort((a, b) => b[0] - a[0]).map(([, name]) => name), base];
}

/** An inode per file name, as the directory holds them now. */
async function inodes(dir: string, names: readonly string[]): Promise<string> {
	const stats = await Promise.all(names.map(name => stat(path.join(dir, name), {bigint: true}).then(s => `${name}:${s.ino}`, () => `${name}:gone`)));
	return stats.join(' ');
}

/** The opened log files, or null when they cannot be read or a rotation keeps moving them while they are opened. */
export async function openJsonFileLog(logPath: string): Promise<OpenedJsonFileLog | null> {
	const dir = path.dirname(logPath);
	for (let attempt = 0; attempt < 3; attempt++) {
		const names = await logFileNames(logPath).catch(() => null);
		if (!names) return null;
		const files: LogFile[] = [];
		const close = () => Promise.all(files.map(f => f.handle.close().catch(() => {}))).then(() => {});
		try {
			const seen: string[] = [];
			for (const name of names) {
				const handle = await open(path.join(dir, name), 'r');
				files.push({name, handle, size: 0, gzip: name.endsWith('.gz')});
				const info = await handle.stat({bigint: true});
				files.at(-1)!.size = Number(info.size);
				seen.push(`${name}:${info.ino}`);
			}
			// The same files under the same names after opening them all: no rotation in between.
			if ((await logFileNames(logPath)).join(' ') === names.join(' ') && (await inodes(dir, names)) === seen.join(' ')) return {files, close};
		} catch {
			// EACCES (not root), ENOENT (removed, or rotated away while opening): tried again, then the Engine.
		}
		await close();
	}
	return null;
}

/** Where reading starts when not at the beginning: a file of the log, a byte in it, and the bytes of the files left unread before it. */
interface TailStart {
	file: number;
	offset: number;
	unread: number;
}

/** Bytes of `file` from `start` to `end`. */
async function readRange(file: LogFile, start: number, end: number): Promise<Buffer> {
	const buffer = Buffer.allocUnsafe(end - start);
	let filled = 0;
	while (filled < buffer.length) {
		const {bytesRead} = await file.handle.read(buffer, filled, buffer.length - filled, start + filled);
		if (bytesRead === 0) break;
		filled += bytesRead;
	}
	return buffer.subarray(0, filled);
}

/** A file's bytes from `offset` up to its size when opened, decompressed when gzip'd (`offset` then 0), a read at a time. */
function fileChunks(file: LogFile, offset: number, signal: AbortSignal): AsyncIterable<Buffer> {
	const raw = createReadStream('', {fd: file.handle, start: offset, end: file.size - 1, highWaterMark: readBytes, autoClose: false, signal});
	// pipeline: a read error ends the gunzip's iteration too.
	return file.gzip ? pipeline(raw, createGunzip(), () => {}) : raw;
}

/** Lines' bytes of a whole gzip'd file once converted (it cannot be read from the middle). */
async function convertedSize(file: LogFile, signal: AbortSignal): Promise<number> {
	if (file.size === 0) return 0;
	const converter = new JsonFileLogConverter();
	let size = 0;
	for await (const chunk of fileChunks(file, 0, signal)) {
		converter.push(chunk);
		size += converter.size;
		converter.discard();
	}
	converter.endFile(true);
	converter.flush();
	return size + converter.size;
}

// json-file writes a message ending its line as `…\n","stream":"std…`; one without is a 16 KiB part with more to come.
const messageEnd = Buffer.from('\\n","stream":"std');
const stderrKey = Buffer.from('","stream":"stderr"');

/**
 * The first place in `chunk` (from `from`, its first whole line) where neither stream is in
 * the middle of a split message, so that no line read from there lacks its beginning: after
 * each stream that has lines in the chunk has had one, and its last one ended its message. -1: none.
 */
function cleanStart(chunk: Buffer, from: number): number {
	const lines: Array<{end: number; stream: 0 | 1; ended: boolean}> = [];
	for (let at = from, eol = chunk.indexOf(newline, at); eol !== -1; at = eol + 1, eol = chunk.indexOf(newline, at)) {
		const line = chunk.subarray(at, eol);
		lines.push({end: eol + 1, stream: line.includes(stderrKey) ? 1 : 0, ended: line.includes(messageEnd)});
	}
	// A stream without a line here is taken as between messages (json-file writes a message's parts back to back).
	const state: Array<'unknown' | 'partial' | 'ended'> = [0, 1].map(stream => (lines.some(l => l.stream === stream) ? 'unknown' : 'ended'));
	for (const line of lines) {
		state[line.stream] = line.ended ? 'ended' : 'partial';
		if (state[0] === 'ended' && state[1] === 'ended') return line.end;
	}
	return -1;
}

/**
 * Where to start reading so that what follows converts to at least `bytes` of lines, looked
 * for from the newest end backwards (counting, not keeping); null when that is the whole log.
 * The start is where neither stream is in the middle of a split message (cleanStart), or a
 * file's beginning, so no line is kept without its beginning.
 */
async function tailStart(files: readonly LogFile[], bytes: number, signal: AbortSignal): Promise<TailStart | null> {
	// A line is never longer than its JSON (an exact-second time aside): files that small are read whole, without counting first.
	if (files.every(f => !f.gzip) && files.reduce((sum, f) => sum + f.size, 0) <= bytes) return null;
	let counted = 0;
	const before = (index: number) => files.slice(0, index).reduce((sum, f) => sum + f.size, 0);
	for (let index = files.length - 1; index >= 0; index--) {
		const file = files[index]!;
		if (file.gzip) {
			counted += await convertedSize(file, signal);
			if (counted >= bytes && index > 0) return {file: index, offset: 0, unread: before(index)};
			continue;
		}
		for (let end = file.size; end > 0; ) {
			signal.throwIfAborted();
			const start = Math.max(0, end - readBytes);
			const chunk = await readRange(file, start, end);
			// The whole lines of the chunk: from after its first newline (unless it is the file's start) to its last one.
			const from = start === 0 ? 0 : chunk.indexOf(newline) + 1;
			const last = chunk.lastIndexOf(newline);
			if (from === 0 && start > 0) {
				// A line longer than a read: not counted (reading more, never less).
				end = start;
				continue;
			}
			const converter = new JsonFileLogConverter();
			if (last >= from) converter.push(chunk.subarray(from, last + 1));
			converter.flush();
			counted += converter.size;
			// A file's beginning is taken as between messages (a rotation between the parts of one is not looked for).
			const clean = counted >= bytes && (start > 0 || index > 0) ? (start === 0 ? 0 : cleanStart(chunk, from)) : -1;
			if (clean !== -1) return {file: index, offset: start + clean, unread: before(index) + start + clean};
			end = start + from;
		}
	}
	return null;
}

/**
 * The log's lines as the evidence holds them (JsonFileLogConverter), a block of 64 KiB or more
 * at a time, from the files opened: the rotated ones oldest first, then the current one up to
 * its last whole line when opened. With `newest`, only the newest part that converts to at
 * least that many bytes is read (`onUnread` is told how many bytes of the files were left).
 * Quietly stops once `signal` aborts.
 */
export async function* jsonFileLogText(
	log: OpenedJsonFileLog,
	signal: AbortSignal,
	{newest, onUnread}: {newest?: number; onUnread?: (bytes: number) => void} = {},
): AsyncIterable<string> {
	const converter = new JsonFileLogConverter();
	try {
		const from = newest === undefined ? null : await tailStart(log.files, newest, signal);
		if (from) onUnread?.(from.unread);
		for (const [index, file] of log.files.entries()) {
			if (from && index < from.file) continue;
			const offset = from && index === from.file ? from.offset : 0;
			if (file.size <= offset) continue;
			for await (const chunk of fileChunks(file, offset, signal)) {
				converter.push(chunk);
				if (converter.size >= blockBytes) yield converter.take();
				if (signal.aborted) return;
			}
			converter.endFile(file !== log.files.at(-1));
		}
		converter.flush();
		if (converter.size > 0) yield converter.take();
	} finally {
		await log.close();
	}
}
