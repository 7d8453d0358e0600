// The log stream's bytes into whole lines: across chunk and frame boundaries, with the
// timestamp the Engine put in front of each message, and json-file's 16 KiB parts joined.
import type {LogLine} from './types.js';

const newline = 0x0a;
// json-file splits messages at 16 KiB; each part carries the message's timestamp again.
const partialSize = 16 * 1024;

// The longest timestamp timestampEnd takes.
const maxTime = 40;

/** Where the timestamp "2024-01-02T03:04:05.123456789Z " ends at `at` (before `limit`), or -1. */
function timestampEnd(buffer: Buffer, at: number, limit: number = buffer.length): number {
	if (limit - at < 21 || buffer[at + 4] !== 0x2d || buffer[at + 10] !== 0x54) return -1;
	// The first space after the date, within maxTime: a few bytes, looked at here rather than by a call into Buffer.indexOf per line.
	const last = Math.min(at + maxTime, limit - 1);
	for (let i = at + 19; i <= last; i++) if (buffer[i] === 0x20) return i;
	return -1;
}

/** latin1 is one character per byte: `Buffer.from(text, 'latin1')` gives the bytes back exactly (the evidence log). */
export type LogEncoding = 'utf8' | 'latin1';

/** The end of a line's bytes without a final carriage return. */
const withoutCr = (buffer: Buffer, start: number, end: number) => (end > start && buffer[end - 1] === 0x0d ? end - 1 : end);

function decode(buffer: Buffer, encoding: LogEncoding = 'utf8'): string {
	return buffer.toString(encoding, 0, withoutCr(buffer, 0, buffer.length));
}

/** Turns the log stream's bytes into whole lines, across chunk and frame boundaries. */
export class LineAssembler {
	readonly #timestamps: boolean;
	readonly #pending: [Buffer[], Buffer[]] = [[], []];
	// Each stream's current time: its bytes (length -1: none), and as a string once asked for.
	readonly #timeBytes: [Buffer, Buffer] = [Buffer.alloc(maxTime), Buffer.alloc(maxTime)];
	readonly #timeLength: [number, number] = [-1, -1];
	readonly #time: [string | null | undefined, string | null | undefined] = [null, null];
	readonly #encoding: LogEncoding;

	constructor(timestamps: boolean, encoding: LogEncoding = 'utf8') {
		this.#timestamps = timestamps;
		this.#encoding = encoding;
	}

	/** One frame of a multiplexed stream: a log message, or a part of a split one. */
	frame(index: 0 | 1, payload: Buffer, out: LogLine[]): void {
		this.frameAt(index, payload, 0, payload.length, out);
	}

	/** frame() of `buffer[start, end)`, without a Buffer of its own per frame or line. */
	frameAt(index: 0 | 1, buffer: Buffer, start: number, end: number, out: LogLine[]): void {
		const stream = index === 0 ? 'stdout' : 'stderr';
		const pending = this.#pending[index];
		let at = start;
		if (this.#timestamps) at = this.#skipTimestamp(index, buffer, at, end, pending.length > 0);
		while (at < end) {
			const eol = buffer.indexOf(newline, at);
			if (eol === -1 || eol >= end) {
				pending.push(buffer.subarray(at, end));
				return;
			}
			if (pending.length === 0) {
				this.emitBytes(index, stream, buffer, at, eol, out);
			} else {
				const bytes = Buffer.concat([...pending, buffer.subarray(at, eol)]);
				pending.length = 0;
				this.emitBytes(index, stream, bytes, 0, bytes.length, out);
			}
			at = eol + 1;
			if (at < end && this.#timestamps) at = this.#skipTimestamp(index, buffer, at, end, false);
		}
	}

	/** A raw (TTY) stream: bytes split anywhere; every line starts with its timestamp. */
	raw(chunk: Buffer, out: LogLine[]): void {
		const pending = this.#pending[0];
		let at = 0;
		for (let eol = chunk.indexOf(newline); eol !== -1; eol = chunk.indexOf(newline, at)) {
			const bytes = pending.length === 0 ? chunk.subarray(at, eol) : Buffer.concat([...pending, chunk.subarray(at, eol)]);
			pending.length = 0;
			this.emitLine(this.#rawLine(bytes), out);
			at = eol + 1;
		}
		if (at < chunk.length) pending.push(chunk.subarray(at));
	}

	/** What is left when the stream ends: output without a final newline. */
	flush(out: LogLine[], tty: boolean): void {
		for (const index of [0, 1] as const) {
			const pending = this.#pending[index];
			if (pending.length === 0) continue;
			const bytes = Buffer.concat(pending);
			pending.length = 0;
			if (tty) this.emitLine(this.#rawLine(bytes), out);
			else this.emitBytes(index, index === 0 ? 'stdout' : 'stderr', bytes, 0, bytes.length, out);
		}
	}

	/** A line of a frame of stream `index`: `buffer[start, end)`, its newline left off. */
	protected emitBytes(index: 0 | 1, stream: LogLine['stream'], buffer: Buffer, start: number, end: number, out: LogLine[]): void {
		out.push({stream, time: this.time(index), text: buffer.toString(this.#encoding, start, withoutCr(buffer, start, end))});
	}

	/** The time of stream `index`'s current line. */
	protected time(index: 0 | 1): string | null {
		let time = this.#time[index];
		if (time === undefined) time = this.#time[index] = this.#timeBytes[index].toString('latin1', 0, this.#timeLength[index]);
		return time;
	}

	/** Writes the time of stream `index`'s current line (`-` when it has none) into `target` at `at`; returns where it ends. */
	protected writeTime(index: 0 | 1, target: Buffer, at: number): number {
		const length = this.#timeLength[index];
		if (length === -1) {
			target[at] = 0x2d;
			return at + 1;
		}
		return at + this.#timeBytes[index].copy(target, at, 0, length);
	}

	protected emitLine(line: LogLine, out: LogLine[]): void {
		out.push(line);
	}

	#skipTimestamp(index: 0 | 1, payload: Buffer, at: number, end: number, continuation: boolean): number {
		const stamp = timestampEnd(payload, at, end);
		if (stamp === -1) {
			if (!continuation) {
				this.#time[index] = null;
				this.#timeLength[index] = -1;
			}
			return at;
		}
		// A continuation keeps the time of the line it continues. Copied, not sliced: no string per line unless one is asked for.
		if (!continuation) {
			this.#timeLength[index] = payload.copy(this.#timeBytes[index], 0, at, stamp);
			this.#time[index] = undefined;
		}
		return stamp + 1;
	}

	#rawLine(bytes: Buffer): LogLine {
		if (!this.#timestamps) return {stream: 'stdout', time: null, text: decode(bytes, this.#encoding)};
		const end = timestampEnd(bytes, 0);
		if (end === -1) return {stream: 'stdout', time: null, text: decode(bytes, this.#encoding)};
		const time = bytes.toString('latin1', 0, end);
		let text = decode(bytes.subarray(end + 1), this.#encoding);
		// Without frames the parts of a split message are only told apart by their repeated timestamp.
		if (bytes.length > partialSize) text = text.split(`${time} `).join('');
		return {stream: 'stdout', time, text};
	}
}

/**
 * The log as the evidence holds it: each line `TIME STREAM TEXT` and a newline (`-` for a line
 * without a time), latin1 (one character per byte: the bytes come back exactly). Written
 * straight from the Engine's bytes into one buffer, taken as one string per chunk: no object
 * or string per line.
 */
export class LogTextAssembler extends LineAssembler {
	#buffer = Buffer.allocUnsafe(256 * 1024);
	#length = 0;

	constructor(timestamps: boolean) {
		super(timestamps, 'latin1');
	}

	/** Bytes assembled since the last take(). */
	get size(): number {
		return this.#length;
	}

	/** The lines assembled since the last take(), each ending in a newline ('' when none). */
	take(): string {
		const text = this.#buffer.toString('latin1', 0, this.#length);
		this.#length = 0;
		return text;
	}

	protected override emitBytes(index: 0 | 1, stream: LogLine['stream'], buffer: Buffer, start: number, end: number): void {
		const last = withoutCr(buffer, start, end);
		this.#room(maxTime + stream.length + 3 + last - start);
		let at = this.writeTime(index, this.#buffer, this.#length);
		this.#buffer[at++] = 0x20;
		at += this.#buffer.write(stream, at, 'latin1');
		this.#buffer[at++] = 0x20;
		at += buffer.copy(this.#buffer, at, start, last);
		this.#buffer[at++] = newline;
		this.#length = at;
	}

	protected override emitLine(line: LogLine): void {
		const text = `${line.time ?? '-'} ${line.stream} ${line.text}\n`;
		this.#room(text.length);
		this.#length += this.#buffer.write(text, this.#length, 'latin1');
	}

	#room(bytes: number): void {
		if (this.#length + bytes <= this.#buffer.length) return;
		const bigger = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes));
		this.#buffer.copy(bigger, 0, 0, this.#length);
		this.#buffer = bigger;
	}
}

/**
 * The Engine's log response, chunk by chunk, into `lines`: frames ([stream, 0, 0, 0, size
 * (uint32 BE)] + payload) split across chunks anywhere, or raw bytes for a TTY. A frame is
 * read where it lies in its chunk; only one split between two chunks is copied.
 */
export class LogStreamReader {
	#raw: boolean;
	#rest: Buffer | null = null;

	constructor(
		readonly lines: LineAssembler,
		tty: boolean,
	) {
		this.#raw = tty;
	}

	chunk(chunk: Buffer, out: LogLine[]): void {
		if (this.#raw) return this.lines.raw(chunk, out);
		let at = 0;
		if (this.#rest !== null) {
			const rest = this.#rest;
			this.#rest = null;
			const head = rest.length >= 8 ? rest : Buffer.concat([rest, chunk.subarray(0, 8 - rest.length)]);
			if (head.length < 8) {
				this.#rest = head;
				return;
			}
			if (!isFrameHeader(head, 0)) return this.#turnRaw(Buffer.concat([rest, chunk]), out);
			// Bytes of this chunk that complete the frame.
			const need = 8 + head.readUInt32BE(4) - rest.length;
			if (chunk.length < need) {
				this.#rest = Buffer.concat([rest, chunk]);
				return;
			}
			const frame = Buffer.concat([rest, chunk.subarray(0, need)]);
			this.#frame(frame, 0, out);
			at = need;
		}
		while (chunk.length - at >= 8) {
			if (!isFrameHeader(chunk, at)) return this.#turnRaw(chunk.subarray(at), out);
			const size = chunk.readUInt32BE(at + 4);
			if (chunk.length - at - 8 < size) break;
			this.#frame(chunk, at, out);
			at += 8 + size;
		}
		if (at < chunk.length) this.#rest = chunk.subarray(at);
	}

	/** The stream ended: what is left without a final newline. */
	end(out: LogLine[]): void {
		this.lines.flush(out, this.#raw);
	}

	#frame(buffer: Buffer, at: number, out: LogLine[]): void {
		const kind = buffer[at];
		// 0 is stdin: nothing of the log.
		if (kind !== 0) this.lines.frameAt(kind === 1 ? 0 : 1, buffer, at + 8, at + 8 + buffer.readUInt32BE(at + 4), out);
	}

	/** Not multiplexed after all (a TTY the inspect did not report): read it raw from here on. */
	#turnRaw(bytes: Buffer, out: LogLine[]): void {
		this.#raw = true;
		this.lines.raw(bytes, out);
	}
}

function isFrameHeader(buffer: Buffer, at: number): boolean {
	const kind = buffer[at];
	return (kind === 0 || kind === 1 || kind === 2) && buffer[at + 1] === 0 && buffer[at + 2] === 0 && buffer[at + 3] === 0;
}
