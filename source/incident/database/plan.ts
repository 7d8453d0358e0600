import {basename} from 'node:path';
import {confirmationFor, type Action, type Plan} from '../step-kit.js';
import type {BackupEntry} from './backups.js';
import {expiredBackups} from './backups.js';
import {verdictLine} from './boundary.js';
import type {DatabaseFacts} from './gather.js';

/**
 * The runbooks' options, in their order of preference: leave an additive schema and roll the
 * code back; roll forward to a hotfix; restore the pre-upgrade backup; run exactly one
 * migrate-down step. Never chain downs: each down is its own action, confirmed on its own.
 */

export type DatabaseActionKind = 'leave' | 'roll-forward' | 'backup' | 'restore' | 'down';

export interface DatabaseAction extends Action {
	kind: DatabaseActionKind;
	/** restore: the backup restored. */
	backup?: BackupEntry;
	/** down: the head it steps down from; refused when the head is no longer this. */
	expectHead?: string;
	/** down: what the head should be after the step. */
	nextHead?: string | null;
}

const shell = (argv: readonly string[]) => argv.map(w => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');

/** The backup a restore uses by default: the newest one taken at the target's head, else before the current release. */
export function defaultBackup(facts: DatabaseFacts): BackupEntry | null {
	const present = facts.backups.filter(b => b.present && b.project === facts.project);
	const head = facts.boundary?.targetHead;
	const atHead = head ? present.filter(b => b.migrationHead === head) : [];
	return atHead.at(-1) ?? present.filter(b => b.release !== facts.currentTag).at(-1) ?? null;
}

/** Finds a backup by path, file name or a unique prefix of its name. */
export function findBackup(facts: DatabaseFacts, name: string): BackupEntry | null {
	const present = facts.backups.filter(b => b.present);
	return (
		present.find(b => b.path === name) ??
		present.find(b => basename(b.path) === name) ??
		(present.filter(b => basename(b.path).startsWith(name)).length === 1 ? present.find(b => basename(b.path).startsWith(name))! : null)
	);
}

export function backupAction(facts: DatabaseFacts): DatabaseAction {
	if (facts.found?.kind === 'sqlite' && facts.client?.via === 'archive') {
		// No sqlite3 in the file's container: the backup is a copy taken with the container paused.
		return {
			id: 'backup',
			kind: 'backup',
			title: `Back up ${facts.found.file} now (a raw copy through the archive API, ${facts.found.container?.name ?? 'the container'} paused meanwhile)`,
			does: [
				`Engine API: POST /containers/${facts.found.container?.name ?? '?'}/pause, GET …/archive?path=${facts.found.file} (and its -wal), POST …/unpause`,
				`→ ${facts.backupDir}/….sqlite (0600, sha256), append to ${facts.backupDir}/backups.log`,
			],
			touches: [facts.backupDir],
			deletes: [],
			destructive: false,
			confirmation: {kind: 'key'},
		};
	}
	const dump = facts.client?.dumpArgv();
	return {
		id: 'backup',
		kind: 'backup',
		title: `Back up the ${facts.found?.kind ?? ''} database now (${dump?.format ?? 'dump'}, streamed out of ${facts.found?.container?.name ?? 'its container'})`,
		does: [
			`Engine API: exec in ${facts.found?.container?.name ?? '?'}: ${shell(dump?.argv ?? [])}  → ${facts.backupDir}/….${dump?.ext ?? 'dump'} (0600, sha256)`,
			`append to ${facts.backupDir}/backups.log`,
		],
		touches: [facts.backupDir],
		deletes: [],
		destructive: false,
		confirmation: {kind: 'key'},
	};
}

export function restoreAction(facts: DatabaseFacts, backup: BackupEntry, options: {freshBackup?: boolean} = {}): DatabaseAction {
	const fresh = options.freshBackup ?? true;
	const app = facts.releaseContainers.filter(c => c.running);
	const name = basename(backup.path);
	if (facts.found?.kind === 'sqlite') return sqliteRestoreAction(facts, backup, fresh);
	return {
		id: `restore:${name}`,
		kind: 'restore',
		backup,
		title: `Restore ${name} (taken ${backup.time.slice(0, 16).replace('T', ' ')} UTC, head ${backup.migrationHead ?? '?'}, ${backup.release ?? 'release ?'})`,
		does: [
			`verify sha256 of ${backup.path} against backups.log (${backup.sha256.slice(0, 16)}…)`,
			...(fresh ? [`a fresh backup first (as \`db backup\`)`] : ['NO fresh backup first (skipped on purpose)']),
			...app.map(c => `Engine API: POST /containers/${c.name}/stop (the database keeps running)`),
			`Engine API: exec in ${facts.found?.container?.name ?? '?'} with the backup on stdin: ${shell(facts.client?.restoreArgv().slice(0, 2) ?? [])} … ${facts.client?.restoreIsOneTransaction === false ? "(its tables and views dropped, the dump applied statement by statement: MySQL cannot roll DDL back, so one that stops midway is said and the fresh backup is the way back)" : '(one transaction: the public schema replaced)'}`,
			`verify the migrations table (head ${backup.migrationHead ?? '?'}) and the row counts`,
			'then: Stabilise to redeploy the last known good, then Verify',
		],
		touches: [`database ${facts.found?.database ?? ''} in ${facts.found?.service ?? ''}`],
		deletes: [
			facts.found?.kind === 'mysql'
				? `every table and view of ${facts.found.database} as it is now (replaced by the backup's)`
				: `every table of ${facts.found?.database ?? 'the database'}'s public schema as it is now (replaced by the backup's)`,
		],
		destructive: true,
		confirmation: confirmationFor(true, name),
	};
}

function sqliteRestoreAction(facts: DatabaseFacts, backup: BackupEntry, fresh: boolean): DatabaseAction {
	const name = basename(backup.path);
	const file = facts.found?.file ?? '?';
	const app = facts.found?.container;
	const dump = backup.path.endsWith('.sql');
	return {
		id: `restore:${name}`,
		kind: 'restore',
		backup,
		title: `Restore ${name} into ${file} (taken ${backup.time.slice(0, 16).replace('T', ' ')} UTC, head ${backup.migrationHead ?? '?'}, ${backup.release ?? 'release ?'})`,
		does: [
			`verify sha256 of ${backup.path} against backups.log (${backup.sha256.slice(0, 16)}…)`,
			...facts.releaseContainers.filter(c => c.running).map(c => `Engine API: POST /containers/${c.name}/stop (the file lives in the app's volume)`),
			`Engine API: a helper container from ${app?.image ?? "the app's image"} with ${app?.name ?? "the app"}'s mounts, no network (removed after)`,
			...(fresh ? ['a fresh backup of the file as the app left it'] : ['NO fresh backup first (skipped on purpose)']),
			`rebuild it as a NEW file ${file}.restoring-<time> (${dump ? 'sqlite3 reading the dump' : 'put in through the archive API and read back'}); never written in place`,
			`check the new file: integrity_check, migration head ${backup.migrationHead ?? '?'}, the row counts`,
			`rename it over ${file}, the stale -wal/-shm removed; on any failure ${file} stays as it was and the new file goes`,
			'then: Stabilise to redeploy the last known good, then Verify',
		],
		touches: [file],
		deletes: [`${file} as it is now (replaced whole by the backup)`],
		destructive: true,
		confirmation: confirmationFor(true, name),
	};
}

export function downAction(facts: DatabaseFacts, options: {freshBackup?: boolean} = {}): DatabaseAction | null {
	const head = facts.migrations?.head;
	if (!facts.downCommand || !head) return null;
	const fresh = options.freshBackup ?? true;
	const applied = facts.migrations!.applied;
	return {
		id: `down:${head}`,
		kind: 'down',
		expectHead: head,
		nextHead: applied.at(-2)?.version ?? null,
		title: `Step down ONE migration: ${head} → ${applied.at(-2)?.version ?? '(none)'}`,
		does: [
			...(fresh ? ['a fresh backup first (as `db backup`)'] : ['NO fresh backup first (skipped on purpose)']),
			`Engine API: exec in ${facts.downCommand.containerName}: ${shell(facts.downCommand.argv)}`,
			`verify the head is now ${applied.at(-2)?.version ?? '(none)'}; another step needs a new confirmation`,
		],
		touches: [`database ${facts.found?.database ?? ''} in ${facts.found?.service ?? ''}`],
		deletes: [`whatever the down section of ${head} drops`],
		destructive: true,
		confirmation: confirmationFor(true, head),
	};
}

export function planDatabase(facts: DatabaseFacts): Plan<DatabaseAction> {
	const warnings: string[] = [];
	const actions: DatabaseAction[] = [];
	if (!facts.found) return {actions, warnings: [...facts.notes]};
	if (!facts.migrations) {
		// The migrations cannot be read here (SQLite without sqlite3 or node:sqlite): backing up and restoring still can.
		const backup = defaultBackup(facts);
		if (backup) actions.push(restoreAction(facts, backup));
		actions.push(backupAction(facts));
		return {actions, warnings: [...facts.notes]};
	}
	const b = facts.boundary;
	const target = facts.target?.tag ?? 'the target';
	if (b) warnings.push(verdictLine(b, target), ...b.notes);
	if (facts.lock.state === 'held') warnings.push(`the project is locked by ${facts.lock.holder.user} (pid ${facts.lock.holder.pid}) since ${facts.lock.holder.since}: ${facts.lock.holder.what}`);
	const expired = expiredBackups(facts.backups.filter(x => x.present), facts.retainDays);
	if (expired.length > 0) warnings.push(`${expired.length} backup${expired.length === 1 ? ' is' : 's are'} older than ${facts.retainDays} days: removable in the Free disk step`);

	if (b && (b.verdict === 'additive' || b.verdict === 'nothing-past')) {
		actions.push({
			id: 'leave',
			kind: 'leave',
			title: `Leave the schema (${b.verdict === 'additive' ? 'additive' : 'unchanged'}) and roll the code back: go to Stabilise`,
			does: ['record the decision in the timeline; nothing runs here'],
			touches: [],
			deletes: [],
			destructive: false,
			confirmation: {kind: 'key'},
		});
	}
	actions.push({
		id: 'roll-forward',
		kind: 'roll-forward',
		title: 'Roll forward to a hotfix: record the decision and the hotfix owner, then stop',
		does: ['record the decision and the owner in the timeline; nothing runs'],
		touches: [],
		deletes: [],
		destructive: false,
		confirmation: {kind: 'key'},
	});
	const backup = defaultBackup(facts);
	if (backup) actions.push(restoreAction(facts, backup));
	else warnings.push('no backup from before the bad release in backups.log: restore is not offered (`db restore FILE` names one)');
	const down = b && b.past.length > 0 ? downAction(facts) : null;
	if (down) actions.push(down);
	actions.push(backupAction(facts));
	return {actions, warnings};
}
