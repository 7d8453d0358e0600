// The one loop every checklist step follows (DESIGN.md): gather → plan → confirm → run →
// record. Gathering changes nothing; a plan lists actions that say exactly what they will
// do; each action is confirmed (typed when destructive) and its result recorded. The
// console and the headless commands use the same functions here, so both record the same
// timeline events. Each step keeps its own richness (rollback's worker, capture's
// collectors): this is the frame, not the whole picture.
import type {StepId, TimelineEvent} from './timeline.js';

/** A checklist step's status, as `step_status` events record it (stepStatuses reads them). */
export const STEP_STATUSES = ['not-started', 'in-progress', 'done', 'skipped', 'failed'] as const;

export type StepStatus = (typeof STEP_STATUSES)[number];

/** Appends one event to the incident's timeline (the console's, a command's or a test's). */
export type Recorder = (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<TimelineEvent | unknown>;

/** How the operator says yes: a key, or the named thing typed back (destructive actions). */
export type Confirmation = {kind: 'key'} | {kind: 'typed'; text: string};

/** One thing a step can do, said before it is done. */
export interface Action {
	/** Stable within the plan: `restore:20261122-030000.dump`, `remove-image:sha256:…`. */
	id: string;
	/** One line in the operator's words. */
	title: string;
	/** Exactly what runs: each command as it would be typed, or each Engine/HTTP API call. Shown whole. */
	does: string[];
	/** Files it writes or replaces. */
	touches: string[];
	/** What it deletes or overwrites for good; empty when nothing. */
	deletes: string[];
	destructive: boolean;
	confirmation: Confirmation;
}

/** What a step proposes from what it gathered. */
export interface Plan<A extends Action = Action> {
	actions: A[];
	/** What the operator must know before confirming anything (one line each). */
	warnings: string[];
}

/** What running one action came to. */
export interface Outcome {
	ok: boolean;
	/** Why it failed, one line; null when it did not. */
	error: string | null;
	/** Exit code of the command it ran, when it ran one. */
	exitCode?: number | null;
	/** What the step wants recorded beside the result (bytes freed, the bundle path, …). */
	data?: Record<string, unknown>;
}

/** A step's domain side: the shape every step module follows. */
export interface StepDomain<Facts, A extends Action = Action> {
	id: StepId;
	/** Reads the box; changes nothing. */
	gather(signal: AbortSignal): Promise<Facts>;
	plan(facts: Facts): Plan<A>;
	run(action: A, signal: AbortSignal): Promise<Outcome>;
}

/** A key for a harmless action; the thing's name typed back for a destructive one. */
export const confirmationFor = (destructive: boolean, name: string): Confirmation =>
	destructive ? {kind: 'typed', text: name} : {kind: 'key'};

/** Whether `typed` confirms `action` (always true for a key confirmation). */
export const confirms = (action: Pick<Action, 'confirmation'>, typed: string): boolean =>
	action.confirmation.kind === 'key' || typed.trim() === action.confirmation.text;

/** Records a step's status the way the checklist reads it (`step_status`). */
export function recordStatus(record: Recorder, step: StepId, status: StepStatus, reason?: string | null) {
	return record(step, 'step_status', reason ? {status, reason} : {status});
}

const describe = (action: Action) => ({
	action: action.id,
	title: action.title,
	does: action.does,
	touches: action.touches,
	deletes: action.deletes,
	destructive: action.destructive,
});

/**
 * Runs one confirmed action: records `action_start` with what it will do, runs it, records
 * `action_result` with the outcome and how long it took. A thrown error is an outcome too
 * (ok: false), so the caller always gets one and the timeline always has both events.
 */
export async function runAction<A extends Action>(
	record: Recorder,
	step: StepId,
	action: A,
	run: (action: A, signal: AbortSignal) => Promise<Outcome>,
	signal: AbortSignal = new AbortController().signal,
): Promise<Outcome & {ms: number}> {
	await record(step, 'action_start', describe(action));
	const started = performance.now();
	let outcome: Outcome;
	try {
		outcome = await run(action, signal);
	} catch (error) {
		outcome = {ok: false, error: error instanceof Error ? error.message : String(error)};
	}
	const ms = Math.round(performance.now() - started);
	await record(step, 'action_result', {
		action: action.id,
		ok: outcome.ok,
		error: outcome.error,
		...(outcome.exitCode === undefined ? {} : {exitCode: outcome.exitCode}),
		ms,
		...outcome.data,
	});
	return {...outcome, ms};
}
