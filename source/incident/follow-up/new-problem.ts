// Pointing out an open incident left over a new failure, for the headless commands and the
// console alike: read the incident's events without resuming it, compare with what fails now.
import type {Engine} from '../../engine/types.js';
import {assessOpenIncident, currentFailure, newProblemNotice, openedAt, type CurrentFailure} from '../lifecycle.js';
import {buildServiceStatus, type ServiceStatus} from '../service-status.js';
import {peekIncidentEvents} from '../stabilise/prepare.js';
import type {LoadedProject} from '../status.js';
import type {TimelineEvent} from '../timeline.js';

/** The project's services as they stand (no image lookups: the failure needs none). */
export async function servicesNow(engine: Pick<Engine, 'projectContainers'>, loaded: Pick<LoadedProject, 'name' | 'config'>): Promise<ServiceStatus[]> {
	return buildServiceStatus(loaded.config, await engine.projectContainers(loaded.name), new Map(), Date.now());
}

export interface OpenIncidentLook {
	id: string;
	openedAt: string;
	events: TimelineEvent[];
	failure: CurrentFailure | null;
	/** "the open incident … is from 2 h ago; this looks like a new problem: …"; null when it is not one. */
	notice: string | null;
	reason: string | null;
}

/** The open incident (if any) against the failure now; reads only. */
export async function lookAtOpenIncident(projectDir: string, services: readonly ServiceStatus[], now = Date.now()): Promise<OpenIncidentLook | null> {
	const open = await peekIncidentEvents(projectDir);
	if (!open) return null;
	const failure = currentFailure(services);
	const assessment = assessOpenIncident(open.events, failure, now);
	const opened = openedAt(open.events) ?? new Date(now).toISOString();
	return {
		id: open.id,
		openedAt: opened,
		events: open.events,
		failure,
		notice: newProblemNotice({id: open.id, openedAt: opened}, assessment, now),
		reason: assessment.reason,
	};
}
