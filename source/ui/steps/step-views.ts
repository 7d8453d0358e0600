import type {ComponentType} from 'react';
import type {StepId} from '../../incident/timeline.js';
import {DiskStep} from './disk-step.js';
import {EvidenceStep} from './evidence-step.js';
import {ScopeStep} from './scope-step.js';
import {StabiliseStep} from './stabilise-step.js';
import type {StepProps} from './step-props.js';

/** The steps the console can run; the others show what they are waiting for. */
export const STEP_VIEWS: Partial<Record<StepId, ComponentType<StepProps>>> = {
	scope: ScopeStep,
	evidence: EvidenceStep,
	stabilise: StabiliseStep,
	disk: DiskStep,
};
