// The CI status of a release's commit, as the GitHub REST API tells it: the combined commit
// status and the check runs, folded into one word. Pure; the calls are in engine/github.ts.

export type CiState = 'passed' | 'failed' | 'pending' | 'unknown';

export interface CiStatus {
	state: CiState;
	/** One line: "3 checks passed", "build failed", "no such commit in org/app". */
	detail: string;
	/** The commit page, when known. */
	url: string | null;
}

export interface CombinedStatus {
	state: string;
	statuses: Array<{context: string; state: string}>;
}

export interface CheckRun {
	name: string;
	status: string;
	conclusion: string | null;
}

const failing = new Set(['failure', 'error', 'cancelled', 'timed_out', 'action_required', 'startup_failure', 'stale']);

/** Folds the combined status and the check runs: any failure fails, anything unfinished is pending. */
export function foldCiStatus(combined: CombinedStatus | null, checks: readonly CheckRun[]): Omit<CiStatus, 'url'> {
	const statuses = combined?.statuses ?? [];
	const failed = [...statuses.filter(s => s.state === 'failure' || s.state === 'error').map(s => s.context), ...checks.filter(c => c.status === 'completed' && failing.has(c.conclusion ?? '')).map(c => c.name)];
	if (failed.length > 0) return {state: 'failed', detail: `${failed.join(', ')} failed`};
	const pending = [...statuses.filter(s => s.state === 'pending').map(s => s.context), ...checks.filter(c => c.status !== 'completed').map(c => c.name)];
	if (pending.length > 0) return {state: 'pending', detail: `${pending.join(', ')} still running`};
	const total = statuses.length + checks.length;
	if (total === 0) return {state: 'unknown', detail: 'no statuses or check runs reported for this commit'};
	return {state: 'passed', detail: `${total} ${total === 1 ? 'check' : 'checks'} passed`};
}
