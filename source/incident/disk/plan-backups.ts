import {basename} from 'node:path';
import {expiredBackups} from '../database/backups.js';
import type {DiskAction, DiskFacts} from './plan-types.js';

/**
 * Database backups older than the retention (database.retain_days, default 7): listed as
 * removable, each only on its own typed confirmation (never with `--yes` alone, never
 * silently); the newer ones are not offered at all.
 */
export function planBackups(facts: Pick<DiskFacts, 'backups'>, now: number): {actions: DiskAction[]; notes: string[]} {
	const backups = facts.backups;
	if (!backups) return {actions: [], notes: []};
	const present = backups.entries.filter(e => e.present);
	const expired = expiredBackups(present, backups.retainDays, now);
	const actions = expired.map((e): DiskAction => {
		const name = basename(e.path);
		return {
			id: `backup:${name}`,
			kind: 'remove-backup',
			target: e.path,
			name,
			bytes: e.bytes,
			safe: false,
			typed: name.slice(0, 12),
			does: `rm ${e.path} (and its .json row counts); backups.log keeps its line`,
			detail: `database backup of ${e.time.slice(0, 10)} (${e.release ?? 'release ?'}, head ${e.migrationHead ?? '?'}), older than ${backups.retainDays} days`,
		};
	});
	const kept = present.length - expired.length;
	return {actions, notes: kept > 0 ? [`${kept} database backup${kept === 1 ? '' : 's'} within ${backups.retainDays} days kept (${backups.dir})`] : []};
}
