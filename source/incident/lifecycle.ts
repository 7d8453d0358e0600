// An incident's life: it opens when the operator starts on a problem and ends with step 7.
// Pure: what counts as "the current failure", whether an open incident is about it, and
// whether the evidence captured so far covers it (an older capture never does).
import type {ServiceStatus} from './service-status.js';
import type {TimelineEvent} from './timeline.js';

export interface FailingContainer {
	service: string;
	name: string;
	state: string;
	health: string;
	exitCode: number | null;
	restartCount: number;
	createdAt: string | null;
	startedAt: string | null;
}

/** The failure the stack shows now: its failing containers, and when the newest of them was created. */
export interface CurrentFailure {
	services: string[];
	containers: FailingContainer[];
	/**
	 * When this failure began, as far as the engine tells: the newest creation time among the
	 * failing containers (a recreate — a deploy, a rollback — starts a new failure). Null when
	 * no failing container has a creation time (a service with no container at all).
	 */
	since: string | null;
}

const okState = (c: {state: string; health: string}) => c.state === 'running' && (c.health === 'healthy' || c.health === 'none');

/** The failing services and containers now; null when every service runs (and is healthy). */
export function currentFailure(services: readonly ServiceStatus[]): CurrentFailure | null {
	const failing = services.filter(s => !s.ok);
	if (failing.length === 0) return null;
	const containers: FailingContainer[] = [];
	for (const s of failing) {
		for (const c of s.containers) {
			if (okState(c)) continue;
			containers.push({
				service: s.service,
				name: c.name,
				state: c.state,
				health: c.health,
				exitCode: c.exitCode,
				restartCount: c.restartCount,
				createdAt: c.createdAt ?? null,
				startedAt: c.startedAt,
			});
		}
	}
	const times = containers.map(c => c.createdAt).filter((t): t is string => Boolean(t) && !Number.isNaN(Date.parse(t!)));
	const since = times.length > 0 ? times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b)) : null;
	return {services: failing.map(s => s.service), containers, since};
}

// Events that say someone looked, not that someone acted.
const passive = new Set(['incident_resumed', 'new_problem_noticed', 'notify_result', 'timeline_fallback']);

/** When the incident last did something (an action, a step status, a capture, a rollback). */
export function lastActionAt(events: readonly TimelineEvent[]): string | null {
	for (let i = events.length - 1; i >= 0; i--) {
		if (!passive.has(events[i]!.type)) return events[i]!.time;
	}
	return null;
}

/** When the incident's stack was last brought back to health: a successful rollback or deploy. */
export function stabilisedAt(events: readonly TimelineEvent[]): string | null {
	for (let i = events.length - 1; i >= 0; i--) {
		const e = events[i]!;
		if ((e.type === 'rollback_complete' || e.type === 'deploy_complete') && e.data['success'] === true) return e.time;
		if (e.type === 'verify_complete' && e.data['verified'] === true) return e.time;
	}
	return null;
}

export const isClosed = (events: readonly TimelineEvent[]) => events.some(e => e.type === 'incident_closed');

export const openedAt = (events: readonly TimelineEvent[]): string | null => events.find(e => e.type === 'incident_opened')?.time ?? events[0]?.time ?? null;

export interface Assessment {
	/** The stack fails in a way that began after the incident's last action. */
	newProblem: boolean;
	/** Why, in one clause ("web-1 was created 3 min ago, after the incident's last action 2 h ago"). */
	reason: string | null;
}

const t = (iso: string | null) => (iso ? Date.parse(iso) : Number.NaN);

/** Whether the failure now is one the open incident has not seen start. */
export function assessOpenIncident(events: readonly TimelineEvent[], failure: CurrentFailure | null, now: number = Date.now()): Assessment {
	if (!failure) return {newProblem: false, reason: null};
	const last = lastActionAt(events);
	if (failure.since && last && t(failure.since) > t(last)) {
		const newest = failure.containers.find(c => c.createdAt === failure.since);
		return {
			newProblem: true,
			reason: `${newest?.name ?? failure.services[0]} was created ${ago(failure.since, now)}, after the incident's last action ${ago(last, now)}`,
		};
	}
	const healthy = stabilisedAt(events);
	if (healthy && last && t(healthy) >= t(last) - 60_000) {
		// The incident ended on a healthy stack: failing again is a new problem even in old containers.
		return {newProblem: true, reason: `${failure.services.join(', ')} ${failure.services.length === 1 ? 'fails' : 'fail'} again after the stack was brought back ${ago(healthy, now)}`};
	}
	return {newProblem: false, reason: null};
}

/** "the open incident is from 2 h ago; this looks like a new problem: …" */
export function newProblemNotice(incident: {id: string; openedAt: string}, assessment: Assessment, now: number = Date.now()): string | null {
	if (!assessment.newProblem) return null;
	return `the open incident ${incident.id} is from ${ago(incident.openedAt, now)}; this looks like a new problem: ${assessment.reason}`;
}

/**
 * Whether evidence of the current failure was captured: a capture completed after its
 * failing containers were created. With no failure now, any capture of the incident counts.
 */
export function evidenceCoversFailure(events: readonly TimelineEvent[] | null, failureSince: string | null): boolean {
	const captures = (events ?? []).filter(e => e.type === 'evidence_capture_complete');
	if (captures.length === 0) return false;
	if (!failureSince) return true;
	return captures.some(e => t(e.time) >= t(failureSince));
}

/** "3 min ago", "2 h ago": how long ago, roughly, for a sentence. */
export function ago(iso: string, now: number = Date.now()): string {
	const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
	if (Number.isNaN(seconds)) return 'some time ago';
	if (seconds < 90) return `${seconds} s ago`;
	const minutes = Math.round(seconds / 60);
	if (minutes < 90) return `${minutes} min ago`;
	const hours = Math.round(minutes / 60);
	if (hours < 48) return `${hours} h ago`;
	return `${Math.round(hours / 24)} days ago`;
}
