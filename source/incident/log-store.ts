import type {LogLine} from '../engine/types.js';

/** A log line as the console keeps it: which service, and its arrival order across all. */
export interface StoredLine extends LogLine {
	service: string;
	seq: number;
}

/** A fixed-size ring: pushing past capacity drops the oldest lines, in O(1) per line. */
export class LogRing {
	readonly #lines: Array<StoredLine | undefined>;
	#start = 0;
	#size = 0;

	constructor(readonly capacity: number) {
		this.#lines = new Array<StoredLine | undefined>(capacity);
	}

	get size(): number {
		return this.#size;
	}

	push(line: StoredLine): void {
		const end = (this.#start + this.#size) % this.capacity;
		this.#lines[end] = line;
		if (this.#size < this.capacity) this.#size++;
		else this.#start = (this.#start + 1) % this.capacity;
	}

	/** How many lines have a sequence number up to `seq` (rings are in sequence order). */
	countUpTo(seq: number): number {
		let low = 0;
		let high = this.#size;
		while (low < high) {
			const mid = (low + high) >>> 1;
			if (this.#lines[(this.#start + mid) % this.capacity]!.seq <= seq) low = mid + 1;
			else high = mid;
		}
		return low;
	}

	/** The last `count` lines (all when omitted), oldest first. */
	tail(count = this.#size): StoredLine[] {
		const n = Math.min(count, this.#size);
		const out: StoredLine[] = new Array(n);
		for (let i = 0; i < n; i++) out[i] = this.#lines[(this.#start + this.#size - n + i) % this.capacity]!;
		return out;
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
		// The engine hands us fresh objects: tag them in place rather than copy each line.
		for (const line of lines as StoredLine[]) {
			line.service = service;
			line.seq = ++this.#seq;
			ring.push(line);
		}
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
		const pick = (service: string) => {
			const lines = this.#rings.get(service)?.tail() ?? [];
			let end = lines.length;
			while (end > 0 && lines[end - 1]!.seq > upToSeq) end--;
			return lines.slice(Math.max(0, end - count), end);
		};
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
