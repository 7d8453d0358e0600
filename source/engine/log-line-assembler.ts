// The log stream's bytes into whole lines: across chunk and frame boundaries, with the
// timestamp the Engine put in front of each message, and json-file's 16 KiB parts joined.
import type {LogLine} from './types.js';

const newline = 0x0a;
// json-file splits messages at 16 KiB; each part carries the message's timestamp again.
const partialSize = 16 * 1024;

/** Where the timestamp "2024-01-02T03:04:05.123456789Z " ends at `at`, or -1. */
function timestampEnd(buffer: Buffer, at: number): number {
	if (buffer.length - at < 21 || buffer[at + 4] !== 0x2d || buffer[at + 10] !== 0x54) return -1;
	const space = buffer.indexOf(0x20, at + 19);
	return space === -1 || space - at > 40 ? -1 : space;
}

/** latin1 is one character per byte: `Buffer.from(text, 'latin1')` gives the bytes back exactly (the evidence log). */
export type LogEncoding = 'utf8' | 'latin1';

function decode(buffer: Buffer, encoding: LogEncoding = 'utf8'): string {
	const end = buffer.length > 0 && buffer[buffer.length - 1] === 0x0d ? buffer.length - 1 : buffer.length;
	return buffer.toString(encoding, 0, end);
}

/**
 * The next whole line of `chunk` from `start`, joined to what `pending` holds of it; null
 * when the chunk ends first (the rest then waits in `pending`).
 */
function nextLine(pending: Buffer[], chunk: Buffer, start: number): {bytes: Buffer; next: number} | null {
	const end = chunk.indexOf(newline, start);
	if (end === -1) {
		if (start < chunk.length) pending.push(chunk.subarray(start));
		return null;
	}
	const bytes = pending.length === 0 ? chunk.subarray(start, end) : Buffer.concat([...pending, chunk.subarray(start, end)]);
	pending.length = 0;
	return {bytes, next: end + 1};
}

/** Turns the log stream's bytes into whole lines, across chunk and frame boundaries. */
export class LineAssembler {
	readonly #timestamps: boolean;
	readonly #pending: [Buffer[], Buffer[]] = [[], []];
	readonly #time: [string | null, string | null] = [null, null];
	readonly #encoding: LogEncoding;

	constructor(timestamps: boolean, encoding: LogEncoding = 'utf8') {
		this.#timestamps = timestamps;
		this.#encoding = encoding;
	}

	/** One frame of a multiplexed stream: a log message, or a part of a split one. */
	frame(index: 0 | 1, payload: Buffer, out: LogLine[]): void {
		const stream = index === 0 ? 'stdout' : 'stderr';
		const pending = this.#pending[index];
		let start = 0;
		if (this.#timestamps) start = this.#skipTimestamp(index, payload, 0, pending.length > 0);
		for (let line = nextLine(pending, payload, start); line; line = nextLine(pending, payload, start)) {
			out.push({stream, time: this.#time[index], text: decode(line.bytes, this.#encoding)});
			start = line.next;
			if (start >= payload.length) return;
			if (this.#timestamps) start = this.#skipTimestamp(index, payload, start, false);
		}
	}

	/** A raw (TTY) stream: bytes split anywhere; every line starts with its timestamp. */
	raw(chunk: Buffer, out: LogLine[]): void {
		const pending = this.#pending[0];
		for (let line = nextLine(pending, chunk, 0); line; line = nextLine(pending, chunk, line.next)) out.push(this.#rawLine(line.bytes));
	}

	/** What is left when the stream ends: output without a final newline. */
	flush(out: LogLine[], tty: boolean): void {
		for (const index of [0, 1] as const) {
			const pending = this.#pending[index];
			if (pending.length === 0) continue;
			const bytes = Buffer.concat(pending);
			pending.length = 0;
			out.push(tty ? this.#rawLine(bytes) : {stream: index === 0 ? 'stdout' : 'stderr', time: this.#time[index], text: decode(bytes, this.#encoding)});
		}
	}

	#skipTimestamp(index: 0 | 1, payload: Buffer, at: number, continuation: boolean): number {
		const end = timestampEnd(payload, at);
		if (end === -1) {
			if (!continuation) this.#time[index] = null;
			return at;
		}
		// A continuation keeps the time of the line it continues.
		if (!continuation) this.#time[index] = payload.toString('latin1', at, end);
		return end + 1;
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
