// A crash loop caught between two crashes looks like a running container whose exit code is
// 0 (Docker resets State.ExitCode when it restarts it). The Engine's recent events tell the
// truth: a `die` that the restart policy answered with a `start` is a crash, and the exit
// code it carried is the one the operator needs.
import type {ContainerEvent, ContainerInfo} from '../engine/types.js';
import {formatMs} from './duration.js';

export interface CrashLoop {
	/** Restarts by the restart policy within the window (dies nobody asked for). */
	restarts: number;
	windowMs: number;
	/** The exit code of the last crash, when the Engine still has its `die` event. */
	lastExitCode: number | null;
	lastExitAt: string | null;
	/** One line: why this counts as a crash loop. */
	reason: string;
}

// Docker waits 100 ms before the first restart and doubles it each time, up to a minute; it
// starts over only after a container ran for 10 s. A container up for less than that since
// a restart has not shown it stays up.
const firstBackoffMs = 100;
const maxBackoffMs = 60_000;
const resetAfterMs = 10_000;

/** How long a container restarted `restarts` times must stay up before it counts as up. */
export function backoffMs(restarts: number): number {
	const grown = firstBackoffMs * 2 ** Math.min(restarts, 20);
	return Math.min(maxBackoffMs, Math.max(resetAfterMs, grown));
}

// A `kill` this close before a `die` means someone stopped it (compose stop, docker restart).
const killedWithinMs = 15_000;

/** The `die` events of one container that its restart policy answered (not an operator's stop). */
export function policyRestarts(container: Pick<ContainerInfo, 'id' | 'state' | 'startedAt'>, events: readonly ContainerEvent[]): ContainerEvent[] {
	const mine = events.filter(e => e.containerId === container.id).sort((a, b) => a.time - b.time);
	const crashes: ContainerEvent[] = [];
	mine.forEach((event, i) => {
		if (event.action !== 'die') return;
		if (mine.slice(0, i).some(e => e.action === 'kill' && event.time - e.time <= killedWithinMs)) return;
		const next = mine.slice(i + 1).find(e => e.action === 'start' || e.action === 'stop' || e.action === 'die' || e.action === 'destroy');
		if (next?.action === 'stop' || next?.action === 'destroy') return;
		const restarted =
			next?.action === 'start' ||
			container.state === 'restarting' ||
			(container.state === 'running' && container.startedAt !== null && Date.parse(container.startedAt) >= event.time);
		if (restarted) crashes.push(event);
	});
	return crashes;
}

/**
 * Whether one container is crash-looping: restarted by its policy within `windowMs` (from the
 * events), or restarting now, or up for less than Docker's restart backoff since a restart.
 * A container that stopped for good is not looping: it is exited, and says so itself.
 */
export function crashLoopOf(container: ContainerInfo, events: readonly ContainerEvent[], windowMs: number, now: number): CrashLoop | null {
	if (container.state !== 'running' && container.state !== 'restarting') return null;
	const recent = events.filter(e => now - e.time <= windowMs);
	const crashes = policyRestarts(container, recent);
	const last = crashes.at(-1) ?? null;
	const upMs = container.state === 'running' && container.startedAt ? now - Date.parse(container.startedAt) : null;
	const backoff = backoffMs(container.restartCount);
	const shortUp = container.restartCount > 0 && upMs !== null && upMs < backoff;
	const restarting = container.state === 'restarting' && container.restartCount > 0;
	if (crashes.length === 0 && !shortUp && !restarting) return null;
	const exit = last?.exitCode ?? (container.state === 'restarting' ? container.exitCode : null);
	const exitText = exit === null ? '' : ` (last exit ${exit})`;
	let reason: string;
	if (crashes.length > 0) reason = `restarted ${crashes.length === 1 ? 'once' : `${crashes.length} times`} in the last ${formatMs(windowMs)}${exitText}`;
	else if (restarting) reason = `restarting after a crash (restart ${container.restartCount})${exitText}`;
	else reason = `up ${formatMs(Math.max(0, Math.round(upMs! / 1000) * 1000))} since restart ${container.restartCount}, less than Docker's ${formatMs(backoff)} backoff`;
	return {
		restarts: crashes.length,
		windowMs,
		lastExitCode: exit,
		lastExitAt: last ? new Date(last.time).toISOString() : null,
		reason,
	};
}
