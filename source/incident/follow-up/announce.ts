// The notifications around a rollback, for the commands and the console alike: incident
// opened, rollback started, rollback completed or failed. Each outcome goes into the
// incident's timeline; none is ever thrown (a notification never fails a rollback).
import {hostname} from 'node:os';
import type {Operator} from '../operator.js';
import type {Settings} from '../settings.js';
import {Timeline} from '../timeline.js';
import {notify, type NotifyEvent, type NotifyFields, type NotifyOutcome} from './notify.js';

export interface Announcement {
	settings: Pick<Settings, 'notify'>;
	project: string;
	incident: string;
	/** The incident's timeline file (the worker appends to it too). */
	timelineFile: string;
	operator: Pick<Operator, 'user' | 'sshConnection' | 'pid'>;
	env?: NodeJS.ProcessEnv;
}

/** Sends one event when a webhook is configured; the line to show, or null when nothing is configured. */
export async function announce(a: Announcement, event: NotifyEvent, extra: Partial<NotifyFields> = {}): Promise<string | null> {
	if (!a.settings.notify?.webhook) return null;
	let outcome: NotifyOutcome | null = null;
	try {
		const timeline = await Timeline.open(a.timelineFile, {operator: a.operator});
		outcome = await notify(
			a.settings.notify,
			event,
			{project: a.project, incident: a.incident, host: hostname(), operator: {user: a.operator.user, ssh: a.operator.sshConnection}, ...extra},
			{record: (step, type, data) => timeline.append(step, type, data), ...(a.env ? {env: a.env} : {})},
		);
	} catch (error) {
		return `webhook ${event}: FAILED: ${(error as Error).message}`;
	}
	return outcome?.line ?? null;
}
