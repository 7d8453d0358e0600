// The checklist's domain side: each step's id, number, title, summary and headless command.
// Its console view (or what it waits for) is the UI registry, source/ui/steps/index.ts.
import {STEP_IDS, STEP_TITLES, type StepId} from './timeline.js';

export interface StepInfo {
	id: StepId;
	number: number;
	title: string;
	/** What the step does, in the operator's words. */
	summary: string;
	/** The headless command that runs the same plans, when there is one. */
	command: string | null;
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

const commands: Record<StepId, string | null> = {
	scope: 'status',
	evidence: 'capture',
	stabilise: 'rollback',
	database: 'db',
	disk: 'disk prune',
	verify: 'verify',
	'follow-up': 'close',
};

export const CHECKLIST: readonly StepInfo[] = STEP_IDS.map((id, index) => ({
	id,
	number: index + 1,
	title: STEP_TITLES[id],
	summary: summaries[id],
	command: commands[id],
}));

export const stepInfo = (id: StepId): StepInfo => CHECKLIST.find(step => step.id === id)!;
