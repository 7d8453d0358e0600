import {nsToApiTime, timeToNs} from './engine-time.js';
import type {LogLine} from './types.js';

/**
 * Where to resume a container's log: the newest time seen, not the last line's. The Engine
 * stamps a line when it reads it from the container's stdout or stderr pipe and writes lines
 * in the order they are written to the file; the two pipes race, so a stderr line may follow
 * a stdout line stamped microseconds later. Everything until the container stopped was read,
 * so `since` this time misses nothing and only returns the lines at exactly this time again:
 * those are told apart by their text.
 */
export class LogCursor {
	#time: string | null = null;
	/** Texts of the lines seen at exactly `#time`. */
	#texts = new Set<string>();

	get time(): string | null {
		return this.#time;
	}

	/** A line a resumed read returns again: at the cursor's time, with a text already seen. */
	isRepeat(line: LogLine): boolean {
		return line.time !== null && line.time === this.#time && this.#texts.has(line.text);
	}

	/** Moves to `line` when it is newer (a line without a time says nothing about where we are). */
	advance(line: LogLine): void {
		if (line.time === null) return;
		// The Engine writes fixed-width UTC nanosecond times: they compare as strings.
		if (this.#time === null || line.time > this.#time) {
			this.#time = line.time;
			// Cleared, not replaced: one Set for the whole stream rather than one per line.
			this.#texts.clear();
			this.#texts.add(line.text);
		} else if (line.time === this.#time) this.#texts.add(line.text);
	}

	/** Another container: start from nothing. */
	reset(): void {
		this.#time = null;
		this.#texts = new Set();
	}

	/** The API's `since` to resume from here; undefined before the first line. */
	since(): string | undefined {
		return this.#time === null ? undefined : nsToApiTime(timeToNs(this.#time) ?? 0n);
	}
}
