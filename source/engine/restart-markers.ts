import {nsToRfc3339, timeToNs} from './engine-time.js';
import type {LogCursor} from './log-cursor.js';
import type {LogLine} from './types.js';

/** A container's exit: from a die event, or from inspect's FinishedAt while events are down. */
export interface Die {
	containerId: string;
	timeNano: bigint;
	exitCode: number | null;
}

/** A line of our own in the log ("container web-1 restarted (exit 2)"), told apart from the service's. */
export function marker(time: string | null, text: string): LogLine {
	return {stream: 'stderr', time, text: `── ${text} ──`, marker: true};
}

// Two sources of one exit (event and inspect) differ by a few ms at most.
const sameExitNs = 50_000_000n;
// Other replicas' exits are never taken off: keep the list short.
const maxKept = 64;

/**
 * The exits not yet marked in the log, oldest first, and where the last marker went: a
 * restart marker goes between the last line before the exit and the first line after it.
 */
export class RestartMarkers {
	#dies: Die[] = [];
	/** The time of the last marker placed (or of the run attached to): exits before it are done. */
	lastNs = 0n;

	add(die: Die): void {
		if (die.timeNano <= this.lastNs) return;
		const same = this.#dies.find(d => d.containerId === die.containerId && (d.timeNano > die.timeNano ? d.timeNano - die.timeNano : die.timeNano - d.timeNano) < sameExitNs);
		if (same) {
			// The same exit from the other source: keep what is known.
			same.exitCode ??= die.exitCode;
			return;
		}
		const at = this.#dies.findIndex(d => d.timeNano > die.timeNano);
		this.#dies.splice(at === -1 ? this.#dies.length : at, 0, die);
		if (this.#dies.length > maxKept) this.#dies.shift();
	}

	/** Following container `id` from its run that started at `startedNs`: other containers' exits go. */
	attach(containerId: string, startedNs: bigint): void {
		this.#dies = this.#dies.filter(d => d.containerId === containerId);
		this.lastNs = startedNs;
	}

	/** Whether an exit of `id` is known and not yet marked. */
	pending(containerId: string): boolean {
		return this.#dies.some(d => d.containerId === containerId && d.timeNano > this.lastNs);
	}

	/** Markers for the exits of `id` that came before a line at `lineNs` (none for a line without a time). */
	before(containerId: string, lineNs: bigint | null, name: string): LogLine[] {
		const out: LogLine[] = [];
		for (;;) {
			const next = this.#next(containerId);
			if (!next || lineNs === null || lineNs <= next.timeNano) return out;
			out.push(this.#place(next, name));
		}
	}

	/** Markers for the exits of `id` before its run that started at `startNs` (null: every known one). */
	until(containerId: string, startNs: bigint | null, name: string): LogLine[] {
		const out: LogLine[] = [];
		for (;;) {
			const next = this.#next(containerId);
			if (!next || (startNs !== null && next.timeNano >= startNs)) return out;
			out.push(this.#place(next, name));
		}
	}

	#next(containerId: string): Die | undefined {
		return this.#dies.find(d => d.containerId === containerId && d.timeNano > this.lastNs);
	}

	#place(die: Die, name: string): LogLine {
		this.lastNs = die.timeNano;
		const index = this.#dies.indexOf(die);
		if (index !== -1) this.#dies.splice(0, index + 1);
		return marker(nsToRfc3339(die.timeNano), `container ${name} restarted (exit ${die.exitCode ?? '?'})`);
	}
}

/** A batch as it goes out: lines already seen dropped, restart markers placed by time, the cursor advanced. */
export function takeLines(batch: readonly LogLine[], container: {id: string; name: string}, cursor: LogCursor, markers: RestartMarkers): LogLine[] {
	const out: LogLine[] = [];
	for (const line of batch) {
		if (cursor.isRepeat(line)) continue;
		if (line.time !== null) {
			// Parsing the time (a regex, Date.parse, three BigInts) only when an exit waits for its place: a flood's lines skip it.
			if (markers.pending(container.id)) out.push(...markers.before(container.id, timeToNs(line.time), container.name));
			cursor.advance(line);
		}
		out.push(line);
	}
	return out;
}
