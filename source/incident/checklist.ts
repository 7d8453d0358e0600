import {STEP_IDS, STEP_TITLES, type StepId} from './timeline.js';

export interface StepInfo {
	id: StepId;
	number: number;
	title: string;
	/** What the step does, in the operator's words. */
	summary: string;
	/** Null when the console can run the step; otherwise what it is waiting for. */
	pending: string | null;
}

const summaries: Record<StepId, string> = {
	scope: 'Is the site really down? Failing services, health URLs, and the roll-back-or-hotfix decision.',
	evidence: 'Before changing anything: ps, inspect, logs, health history, events, disk and versions into one bundle.',
	stabilise: 'Roll the release services back to the last known-good release, durably, one operator at a time.',
	database: 'Did a migration run since the target release? Additive: leave it; otherwise hotfix, restore, or one step down.',
	disk: 'Free disk space without deleting the rollback images or database volumes.',
	verify: 'All services healthy, health and smoke checks passing with retries, errors back to baseline.',
	'follow-up': 'Incident record, postmortem draft, changelog note, notifications and reminders.',
};

// Steps whose machinery has not landed yet say so rather than pretend.
const pending: Partial<Record<StepId, string>> = {
	database: 'the migration check (`rollback-console db`) is not built yet',
	verify: 'the verify loop (`rollback-console verify`) is not built yet',
	'follow-up': 'the incident report (`rollback-console report`) is not built yet',
};

export const CHECKLIST: readonly StepInfo[] = STEP_IDS.map((id, index) => ({
	id,
	number: index + 1,
	title: STEP_TITLES[id],
	summary: summaries[id],
	pending: pending[id] ?? null,
}));
