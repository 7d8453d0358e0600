// A GET to the Engine whose body is read straight off the socket. The Engine sends a log one
// HTTP chunk per line: node's client hands each one on as a Buffer of its own through a
// stream (120,000 of them for 17 MB: a tenth of a capture's CPU, with the garbage they
// leave). Here each read of the socket (up to 64 KiB) becomes one Buffer of the body's bytes.
import type {Socket} from 'node:net';
import {EngineHttpError, type Target} from './engine-http.js';

const malformed = () => new Error('the Engine sent a malformed chunked body');

function hexValue(c: number): number {
	if (c >= 0x30 && c <= 0x39) return c - 0x30;
	if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
	if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
	return -1;
}

/** An HTTP/1.1 body (chunked, of a Content-Length, or up to the connection's end) into its bytes, read by read. */
export class BodyDecoder {
	readonly #chunked: boolean;
	/** Bytes of data left: of the current chunk, or of the Content-Length. */
	#left: number;
	// Chunked: reading a size line (its digits, then whatever follows them up to the LF).
	#inSize: boolean;
	#size = 0;
	#digits = 0;
	#sizeEnded = false;
	/** Chunked: the CRLF after a chunk's data, still to skip. */
	#skip = 0;
	#last = false;

	constructor(headers: {chunked: boolean; length: number | null}) {
		this.#chunked = headers.chunked;
		this.#inSize = headers.chunked;
		this.#left = headers.chunked ? 0 : (headers.length ?? Number.POSITIVE_INFINITY);
	}

	/** The body is whole: its last chunk read, or its Content-Length; without either, only the connection's end says so. */
	get done(): boolean {
		return this.#chunked ? this.#last : this.#left === 0;
	}

	/** Whether the connection may end here without a body cut short. */
	get mayEnd(): boolean {
		return this.done || (!this.#chunked && this.#left === Number.POSITIVE_INFINITY);
	}

	/** What `data` (the next read of the socket, which this may write over) holds of the body. */
	push(data: Buffer): Buffer {
		if (!this.#chunked) {
			const take = Math.min(this.#left, data.length);
			if (this.#left !== Number.POSITIVE_INFINITY) this.#left -= take;
			return take === data.length ? data : data.subarray(0, take);
		}
		// The body's bytes are moved to the front of `data` itself (never ahead of where they are read).
		const out = data;
		let length = 0;
		let at = 0;
		while (at < data.length && !this.#last) {
			if (this.#left > 0) {
				const n = Math.min(this.#left, data.length - at);
				length += data.copy(out, length, at, at + n);
				this.#left -= n;
				at += n;
				if (this.#left === 0) this.#skip = 2;
			} else if (this.#skip > 0) {
				this.#skip--;
				at++;
				if (this.#skip === 0) this.#inSize = true;
			} else if (this.#inSize) {
				this.#sizeByte(data[at++]!);
			}
		}
		return out.subarray(0, length);
	}

	/** One byte of a size line: hex digits, then maybe `;extensions` or spaces, then CRLF. */
	#sizeByte(c: number): void {
		if (c === 0x0a) {
			if (this.#digits === 0) throw malformed();
			this.#inSize = false;
			if (this.#size === 0) this.#last = true;
			this.#left = this.#size;
			this.#size = 0;
			this.#digits = 0;
			this.#sizeEnded = false;
			return;
		}
		if (this.#sizeEnded) return;
		const value = hexValue(c);
		if (value === -1) {
			if (this.#digits === 0 || (c !== 0x3b && c !== 0x0d && c !== 0x20 && c !== 0x09)) throw malformed();
			this.#sizeEnded = true;
			return;
		}
		if (++this.#digits > 12) throw malformed();
		this.#size = this.#size * 16 + value;
	}
}

/** The status line and headers of a response. */
function parseHead(head: string): {status: number; chunked: boolean; length: number | null} {
	const [statusLine = '', ...lines] = head.split('\r\n');
	const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
	if (!status) throw new Error(`the Engine answered something that is not HTTP: ${JSON.stringify(statusLine.slice(0, 80))}`);
	let chunked = false;
	let length: number | null = null;
	for (const line of lines) {
		const colon = line.indexOf(':');
		const name = line.slice(0, colon).trim().toLowerCase();
		const value = line.slice(colon + 1).trim();
		if (name === 'transfer-encoding') chunked = /(^|,)\s*chunked$/i.test(value);
		else if (name === 'content-length' && /^\d+$/.test(value)) length = Number(value);
	}
	return {status: Number(status[1]), chunked, length};
}

const headEnd = Buffer.from('\r\n\r\n');

/**
 * GET `path` from the Engine and its body as it arrives, a Buffer per read of the socket. An
 * answer other than 2xx throws an EngineHttpError with the Engine's message; a connection
 * lost midway throws. Aborting `signal` closes the connection and throws its reason.
 */
export async function* engineBody(target: Target, path: string, signal: AbortSignal): AsyncIterable<Buffer> {
	signal.throwIfAborted();
	const net = process.getBuiltinModule('node:net');
	const socket: Socket = 'socketPath' in target ? net.connect(target.socketPath) : net.connect(target.port, target.host);
	const onAbort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
	signal.addEventListener('abort', onAbort, {once: true});
	try {
		socket.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`);
		let head: Buffer | null = Buffer.alloc(0);
		let body: BodyDecoder | null = null;
		let status = 0;
		const errorBody: Buffer[] = [];
		for await (const read of socket as AsyncIterable<Buffer>) {
			let data = read;
			if (head !== null) {
				head = Buffer.concat([head, data]);
				const end = head.indexOf(headEnd);
				if (end === -1) {
					if (head.length > 64 * 1024) throw new Error('the Engine sent headers of more than 64 KiB');
					continue;
				}
				const parsed = parseHead(head.toString('latin1', 0, end));
				status = parsed.status;
				body = new BodyDecoder(parsed);
				data = head.subarray(end + 4);
				head = null;
			}
			const bytes = body!.push(data);
			if (status < 200 || status >= 300) errorBody.push(bytes);
			else if (bytes.length > 0) yield bytes;
			if (body!.done) break;
		}
		if (head !== null) throw new Error('the Engine closed the connection before it answered');
		if (status < 200 || status >= 300) {
			const text = Buffer.concat(errorBody).toString('utf8');
			let message = text.trim();
			try {
				message = (JSON.parse(text) as {message?: string}).message ?? message;
			} catch {
				// Not JSON: the text as it came.
			}
			throw new EngineHttpError(status, `(HTTP code ${status}) ${message}`);
		}
		if (!body!.mayEnd) throw new Error('the Engine closed the connection midway');
	} finally {
		signal.removeEventListener('abort', onAbort);
		socket.destroy();
	}
}
