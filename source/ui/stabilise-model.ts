import type {LockState} from '../incident/project-lock.js';
import type {Candidate} from '../incident/stabilise/releases.js';
import type {RollbackPlan} from '../incident/stabilise/plan.js';
import type {WorkerResult} from '../incident/stabilise/run.js';
import type {ReleaseShape} from '../incident/stabilise/release-services.js';

/** How the Compose file names its release, as Scope and Stabilise show it (releaseLines). */
export interface ReleaseView {
	/** Null when the project could not be read as any shape (`error` says what to set). */
	shape: ReleaseShape | null;
	/** `release: <shape>`, then `  <service>: <why>` per release service. */
	lines: string[];
	/** The same in one line: the shape, then the services grouped by why. */
	summary?: string;
	error: string | null;
}

/** What the Stabilise step knows before anything runs. */
export interface StabilisePrepared {
	/** Null when the target was refused (`error` says why, in one line). */
	plan: RollbackPlan | null;
	error: string | null;
	candidates: Candidate[];
	current: string | null;
	lastKnownGood: string | null;
	/** The registry could not be asked: why (the candidates come from this box only). */
	registryProblem: string | null;
	lock: LockState;
	/** Which shape was found and why each service is a release service. */
	release?: ReleaseView;
}

export interface RunView {
	runId: string;
	kind: 'rollback' | 'deploy';
	from: string | null;
	to: string;
	running: boolean;
	pid: number | null;
	output: string;
	result: WorkerResult | null;
}

/** The Stabilise step's view of the world (commands/stabilise-model.ts builds it from the real one). */
export interface StabiliseModel {
	/** Gathers and plans a rollback to `to` (null: the last known good). Never rejects for bad input. */
	prepare(to: string | null): Promise<StabilisePrepared>;
	/** Starts the detached worker for a confirmed plan. Rejects (one line) when the lock is not ours. */
	start(plan: RollbackPlan): Promise<RunView>;
	/** The newest run of this project: running (after a reopen) or finished. */
	latest(): Promise<RunView | null>;
	/** Follows a run until it ends, calling back with its output so far. */
	follow(runId: string, onProgress: (run: RunView) => void, signal: AbortSignal): Promise<RunView | null>;
	/** The release services and their shape, without planning anything (Scope shows it). Never rejects for an ambiguous project. */
	release?(): Promise<ReleaseView>;
	/** Takes the project lock (a stale one only with `takeOverStale`); true when this console holds it now. */
	takeLock(takeOverStale: boolean): Promise<{ok: boolean; message: string}>;
}
