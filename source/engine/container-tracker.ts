import {fixedTime, timeToNs} from './engine-time.js';
import {marker} from './restart-markers.js';
import type {LogLine} from './types.js';

/** What inspect says about the service's newest container, as the tracker needs it. */
export interface ContainerSeen {
	id: string;
	name: string;
	tty: boolean;
	/** Running or paused (State.Running stays true while a restart policy waits: Status is used). */
	running: boolean;
	/** State.StartedAt; "0001-…" when it never started. */
	startedAt: string;
	created: string;
}

/** What to read next. */
export type NextRead =
	/** Nothing now: not started yet, down, or its stream just ended while it still looks up. */
	| {kind: 'wait'}
	/** Another container (the first, or a recreate's): from its tail, after the marker saying so. */
	| {kind: 'attach'; marker: LogLine | null}
	/** The same container ran again since we read it: up to this run's start, then this run. */
	| {kind: 'restarted'; startNs: bigint | null; previousNs: bigint}
	/** The same run, still running: from where we were. */
	| {kind: 'resume'};

/** Which container of the service is followed, and which of its runs. */
export class ContainerTracker {
	attached: {id: string; name: string; tty: boolean; startedAt: string} | null = null;

	/** Decides from the newest container what to read; `justEnded`: the last stream ended. */
	next(seen: ContainerSeen, justEnded: boolean): NextRead {
		const {attached} = this;
		if (!attached || seen.id !== attached.id) {
			const neverStarted = seen.startedAt.startsWith('0001-');
			if (!seen.running && neverStarted) return {kind: 'wait'};
			this.attached = {id: seen.id, name: seen.name, tty: seen.tty, startedAt: seen.startedAt};
			return {kind: 'attach', marker: attached ? marker(fixedTime(neverStarted ? seen.created : seen.startedAt), `switched to container ${seen.name}`) : null};
		}
		if (seen.startedAt !== attached.startedAt) return {kind: 'restarted', startNs: timeToNs(seen.startedAt), previousNs: timeToNs(attached.startedAt) ?? 0n};
		// Down, or the stream ended while it still looks running (stopping, or the Engine let go): look again shortly.
		if (!seen.running || justEnded) return {kind: 'wait'};
		return {kind: 'resume'};
	}

	/** The restarted run has been caught up with: it is the one followed now. */
	ran(startedAt: string): void {
		if (this.attached) this.attached.startedAt = startedAt;
	}
}
