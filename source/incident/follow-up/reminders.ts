// The runbooks' reminders after a rollback. Most are the operator's to tick (recorded as
// `reminder` events); "the rolled-back release passed CI" is checked when it can be.
import type {TimelineEvent} from '../timeline.js';
import type {CiStatus} from './ci-status.js';

export const REMINDERS = [
	{id: 'gates', text: "Re-run the pipeline's gates on the good tag (a manual rollback skipped them)"},
	{id: 'flags', text: 'Disable the feature flags the bad release turned on'},
	{id: 'ci', text: 'Confirm the rolled-back release passed CI'},
	{id: 'no-redeploy', text: 'Do not redeploy the bad image before its cause is fixed'},
	{id: 'backups', text: 'Keep database backups at least 7 days'},
] as const;

export type ReminderId = (typeof REMINDERS)[number]['id'];

export interface ReminderState {
	id: ReminderId;
	text: string;
	done: boolean;
	/** Who ticked it and when, or what was checked ("CI passed for 1a2b3c…"). */
	note: string | null;
}

export const isReminderId = (value: unknown): value is ReminderId => REMINDERS.some(r => r.id === value);

/** Each reminder's state: the operator's last tick, or for CI the status the API gave. */
export function reminderStates(events: readonly TimelineEvent[], links: {to: {tag: string; revision: string | null; ci: CiStatus | null} | null}): ReminderState[] {
	return REMINDERS.map(r => {
		const tick = events.findLast(e => e.type === 'reminder' && e.data['id'] === r.id);
		if (tick) {
			const done = tick.data['done'] === true;
			return {id: r.id, text: r.text, done, note: `${done ? 'ticked' : 'unticked'} by ${tick.operator.user} at ${tick.time}`};
		}
		if (r.id === 'ci') {
			const ci = links.to?.ci ?? null;
			if (ci) return {id: r.id, text: r.text, done: ci.state === 'passed', note: `CI ${ci.state} for ${links.to!.tag} (${ci.detail})`};
			if (links.to) return {id: r.id, text: r.text, done: false, note: `CI unknown for ${links.to.tag}: ${links.to.revision ? 'no GitHub repository configured (x-rollback-console.notify.github)' : 'its image has no org.opencontainers.image.revision label'}`};
		}
		return {id: r.id, text: r.text, done: false, note: null};
	});
}
