import type {Recorder} from '../../../incident/step-kit.js';
import type {RollbackCriteria} from '../../../incident/verify/criteria.js';
import type {VerifyState} from '../../../incident/verify/run.js';

/**
 * Step 6 as the console holds it: the run lives here, not in the view, so `esc` leaves it
 * running and coming back shows it where it stands.
 */
export interface VerifyModel {
	/** The run in progress, or the last one; null before the first. */
	current(): VerifyState | null;
	subscribe(listener: (state: VerifyState | null) => void): () => void;
	running(): boolean;
	/** Starts a run unless one is running; its events go through `record`. Resolves when it ends. */
	start(record: Recorder, options?: {wait?: boolean; readOnly?: boolean}): Promise<VerifyState | null>;
	/** Stops the run; what was seen so far is recorded. */
	stop(): void;
	/** The runbook's "when to roll back", measured (Scope shows it beside its questions). */
	criteria(signal?: AbortSignal): Promise<RollbackCriteria>;
	/** What a run will do, for the screen before it starts. */
	readonly plan: {windowMs: number; tries: number; intervalMs: number; checks: string[]};
}
