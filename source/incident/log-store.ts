import type {LogLine} from '../engine/types.js';

/** A log line as the console keeps it: which service, and its arrival order across all. */
export interface StoredLine extends LogLine {
	service: string;
	seq: number;
}

// Lines live as bytes in one slab per service, not as objects and strings: under a flood of
// 35,000 lines a second each kept line lives ~150 ms, long enough for V8 to promote it to the
// old generation, which then grew to 200+ MB of dead lines between full collections. The
// slab holds no JS object per line; tail() makes objects only for the lines asked for.
const stderrFlag = 1;
const markerFlag = 2;
/** Longer lines are kept cut (the screen shows a few thousand characters at most). */
export const maxStoredLineBytes = 64 * 1024;
const cutMark = Buffer.from(' …');

/** Where `bytes` may be cut without splitting a UTF-8 character, at or before `at`. */
function charBoundary(bytes: Buffer, at: number): number {
	let end = at;
	while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
	return end;
}

/**
 * A fixed-size ring of one service's lines: past `capacity` lines, or past its bytes (up to
 * 1 KiB a line on average, at least 1 MiB), the oldest go, in O(1) per line.
 */
export class LogRing {
	readonly maxBytes: number;
	#slab: Buffer;
	#service = '';
	// Per slot: the line's sequence number, where its bytes start, its time's and text's lengths.
	readonly #seq: Float64Array;
	readonly #at: Uint32Array;
	readonly #timeLength: Uint8Array;
	readonly #textLength: Uint32Array;
	readonly #flags: Uint8Array;
	#first = 0;
	#size = 0;
	/** Where the next line's bytes go. */
	#write = 0;

	constructor(readonly capacity: number) {
		this.maxBytes = Math.max(capacity * 1024, 1024 * 1024);
		this.#slab = Buffer.allocUnsafe(Math.min(this.maxBytes, 64 * 1024));
		this.#seq = new Float64Array(capacity);
		this.#at = new Uint32Array(capacity);
		this.#timeLength = new Uint8Array(capacity);
		this.#textLength = new Uint32Array(capacity);
		this.#flags = new Uint8Array(capacity);
	}

	get size(): number {
		return this.#size;
	}

	push(line: StoredLine): void {
		this.add(line, line.service, line.seq);
	}

	/** Keeps a copy of `line`'s bytes, numbered `seq`. */
	add(line: LogLine, service: string, seq: number): void {
		this.#service = service;
		const time = line.time === null || line.time.length > 255 ? '' : line.time;
		let cut: Buffer | null = null;
		let textLength = Buffer.byteLength(line.text, 'utf8');
		if (textLength > maxStoredLineBytes) {
			const bytes = Buffer.from(line.text, 'utf8');
			cut = Buffer.concat([bytes.subarray(0, charBoundary(bytes, maxStoredLineBytes - cutMark.length)), cutMark]);
			textLength = cut.length;
		}
		const length = time.length + textLength;
		if (this.#size === this.capacity) this.#dropOldest();
		const at = this.#place(length);
		this.#slab.write(time, at, 'latin1');
		if (cut) cut.copy(this.#slab, at + time.length);
		else this.#slab.write(line.text, at + time.length, 'utf8');
		const slot = (this.#first + this.#size) % this.capacity;
		this.#seq[slot] = seq;
		this.#at[slot] = at;
		this.#timeLength[slot] = time.length;
		this.#textLength[slot] = textLength;
		this.#flags[slot] = (line.stream === 'stderr' ? stderrFlag : 0) | (line.marker ? markerFlag : 0);
		this.#size++;
		this.#write = at + length;
	}

	/** How many lines have a sequence number up to `seq` (rings are in sequence order). */
	countUpTo(seq: number): number {
		let low = 0;
		let high = this.#size;
		while (low < high) {
			const mid = (low + high) >>> 1;
			if (this.#seq[(this.#first + mid) % this.capacity]! <= seq) low = mid + 1;
			else high = mid;
		}
		return low;
	}

	/** The last `count` lines (all when omitted), oldest first. */
	tail(count = this.#size): StoredLine[] {
		return this.tailUpTo(count, Number.POSITIVE_INFINITY);
	}

	/** The last `count` lines with a sequence number up to `seq`, oldest first. */
	tailUpTo(count: number, seq: number): StoredLine[] {
		const end = seq === Number.POSITIVE_INFINITY ? this.#size : this.countUpTo(seq);
		const begin = Math.max(0, end - count);
		const out: StoredLine[] = new Array(end - begin);
		for (let i = begin; i < end; i++) out[i - begin] = this.#line((this.#first + i) % this.capacity);
		return out;
	}

	#line(slot: number): StoredLine {
		const at = this.#at[slot]!;
		const timeLength = this.#timeLength[slot]!;
		const flags = this.#flags[slot]!;
		const line: StoredLine = {
			stream: flags & stderrFlag ? 'stderr' : 'stdout',
			time: timeLength === 0 ? null : this.#slab.toString('latin1', at, at + timeLength),
			text: this.#slab.toString('utf8', at + timeLength, at + timeLength + this.#textLength[slot]!),
			service: this.#service,
			seq: this.#seq[slot]!,
		};
		if (flags & markerFlag) line.marker = true;
		return line;
	}

	#dropOldest(): void {
		this.#first = (this.#first + 1) % this.capacity;
		this.#size--;
		if (this.#size === 0) this.#write = 0;
	}

	#oldest(): {at: number; end: number} {
		const slot = this.#first;
		const at = this.#at[slot]!;
		return {at, end: at + this.#timeLength[slot]! + this.#textLength[slot]!};
	}

	/** Room for `length` bytes after the newest line, or from the slab's start: the slab grows, or the oldest lines go. */
	#place(length: number): number {
		for (;;) {
			const fits = this.#fits(length);
			if (fits !== null) return fits;
			if (this.#slab.length < this.maxBytes) this.#grow();
			else break;
		}
		let at = this.#write;
		if (at + length > this.#slab.length) {
			// Wrap: the lines from here to the slab's end are the oldest; they go first.
			while (this.#size > 0 && this.#oldest().at >= this.#write) this.#dropOldest();
			at = 0;
		}
		while (this.#size > 0) {
			const oldest = this.#oldest();
			if (oldest.at >= at + length || oldest.end <= at) break;
			this.#dropOldest();
		}
		return at;
	}

	/** Where `length` bytes go without dropping a line, or null. */
	#fits(length: number): number | null {
		if (this.#size === 0) return length <= this.#slab.length ? 0 : null;
		const oldest = this.#oldest().at;
		if (this.#write > oldest) {
			if (this.#write + length <= this.#slab.length) return this.#write;
			return length <= oldest ? 0 : null;
		}
		return this.#write + length <= oldest ? this.#write : null;
	}

	/** Twice the slab (at most maxBytes), the lines copied over oldest first from its start. */
	#grow(): void {
		const slab = Buffer.allocUnsafe(Math.min(this.maxBytes, this.#slab.length * 2));
		let write = 0;
		for (let i = 0; i < this.#size; i++) {
			const slot = (this.#first + i) % this.capacity;
			const at = this.#at[slot]!;
			const length = this.#timeLength[slot]! + this.#textLength[slot]!;
			this.#slab.copy(slab, write, at, at + length);
			this.#at[slot] = write;
			write += length;
		}
		this.#slab = slab;
		this.#write = write;
	}
}

/**
 * Every followed service's recent log lines, each in its own bounded ring, so a service
 * writing 10,000 lines a second costs memory in proportion to the ring, not to time.
 * Listeners hear of each appended batch; the UI decides how often to redraw.
 */
export class LogStore {
	readonly #rings = new Map<string, LogRing>();
	readonly #listeners = new Set<() => void>();
	readonly #receivedBy = new Map<string, number>();
	#seq = 0;
	received = 0;

	constructor(readonly capacityPerService = 5000) {}

	get seq(): number {
		return this.#seq;
	}

	ring(service: string): LogRing {
		let ring = this.#rings.get(service);
		if (!ring) {
			ring = new LogRing(this.capacityPerService);
			this.#rings.set(service, ring);
		}
		return ring;
	}

	append(service: string, lines: readonly LogLine[]): void {
		if (lines.length === 0) return;
		const ring = this.ring(service);
		// The ring copies each line's bytes: the engine's objects are garbage at once, and cheap.
		for (const line of lines) ring.add(line, service, ++this.#seq);
		this.received += lines.length;
		this.#receivedBy.set(service, (this.#receivedBy.get(service) ?? 0) + lines.length);
		for (const listener of this.#listeners) listener();
	}

	/** Lines taken in for one service since the start, kept or not. */
	receivedBy(service: string): number {
		return this.#receivedBy.get(service) ?? 0;
	}

	subscribe(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** How many lines the services keep, up to a sequence number (the paused view's end). */
	count(services: readonly string[], upToSeq = Number.POSITIVE_INFINITY): number {
		let n = 0;
		for (const service of services) n += this.#rings.get(service)?.countUpTo(upToSeq) ?? 0;
		return n;
	}

	/** The last `count` lines of one service, or of several interleaved in arrival order. */
	tail(services: readonly string[], count: number, upToSeq = Number.POSITIVE_INFINITY): StoredLine[] {
		const pick = (service: string) => this.#rings.get(service)?.tailUpTo(count, upToSeq) ?? [];
		if (services.length === 1) return pick(services[0]!);
		return services
			.flatMap(pick)
			.sort((a, b) => a.seq - b.seq)
			.slice(-count);
	}
}

/** Compiles an operator's filter: a regex when it is one, else a case-insensitive substring. */
export function compileFilter(text: string): {test: (line: string) => boolean; error: string | null} {
	if (text === '') return {test: () => true, error: null};
	try {
		const regex = new RegExp(text, 'i');
		return {test: line => regex.test(line), error: null};
	} catch (error) {
		const needle = text.toLowerCase();
		return {test: line => line.toLowerCase().includes(needle), error: (error as Error).message};
	}
}
