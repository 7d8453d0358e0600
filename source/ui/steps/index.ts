// The console's step registry: each checklist step's view, or — for a step not built — what
// it waits for. Adding a step: its folder under steps/ (and its domain under incident/), and
// one entry here; the checklist, the step panel, the help and the titles read the rest from
// CHECKLIST (source/incident/checklist.ts).
import type {ComponentType} from 'react';
import type {StepId} from '../../incident/timeline.js';
import {DatabaseStep} from './database/database-step.js';
import {DiskStep} from './disk/disk-step.js';
import {EvidenceStep} from './evidence/evidence-step.js';
import {FollowUpStep} from './follow-up/follow-up-step.js';
import {ScopeStep} from './scope/scope-step.js';
import {StabiliseStep} from './stabilise/stabilise-step.js';
import type {StepProps} from './step-props.js';
import {VerifyStep} from './verify/verify-step.js';

export type StepEntry = {view: ComponentType<StepProps>} | {waitsFor: string};

export const STEP_VIEWS: Readonly<Record<StepId, StepEntry>> = {
	scope: {view: ScopeStep},
	evidence: {view: EvidenceStep},
	stabilise: {view: StabiliseStep},
	database: {view: DatabaseStep},
	disk: {view: DiskStep},
	verify: {view: VerifyStep},
	'follow-up': {view: FollowUpStep},
};

/** The step's view, or null while it is not built. */
export const stepView = (id: StepId): ComponentType<StepProps> | null => {
	const entry = STEP_VIEWS[id];
	return 'view' in entry ? entry.view : null;
};

/** What a step not built waits for; null for a step the console runs. */
export const waitsFor = (id: StepId): string | null => {
	const entry = STEP_VIEWS[id];
	return 'waitsFor' in entry ? entry.waitsFor : null;
};
