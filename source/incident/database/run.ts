import {createReadStream} from 'node:fs';
import {ConsoleError} from '../../errors.js';
import type {Outcome} from '../step-kit.js';
import {readStats, takeBackup, verifyBackup, type BackupEntry} from './backups.js';
import type {DatabaseFacts} from './gather.js';
import type {DatabaseAction} from './plan.js';
import {checkAgainstBackup} from './restore-check.js';
import {restoreSqlite} from './sqlite-restore.js';
import type {RunDatabaseOptions} from './run-options.js';

/** Running one confirmed Database action. Each returns an Outcome; none retries. */

export type {DatabasePhase, RunDatabaseOptions} from './run-options.js';

const fail = (error: string, data: Record<string, unknown> = {}): Outcome => ({ok: false, error, data});

async function freshBackup(facts: DatabaseFacts, reason: string, options: RunDatabaseOptions, signal: AbortSignal): Promise<BackupEntry> {
	return takeBackup({
		client: facts.client!,
		dir: facts.backupDir,
		project: facts.project,
		release: facts.currentTag,
		reason,
		signal,
		...(options.onProgress ? {onProgress: (bytes: number) => options.onProgress!('backup', bytes, null)} : {}),
	});
}

export async function runDatabaseAction(facts: DatabaseFacts, action: DatabaseAction, signal: AbortSignal, options: RunDatabaseOptions = {}): Promise<Outcome> {
	const client = facts.client;
	switch (action.kind) {
		case 'leave':
			return {ok: true, error: null, data: {decision: 'leave-schema', verdict: facts.boundary?.verdict ?? null, target: facts.target?.tag ?? null}};
		case 'roll-forward': {
			const owner = options.owner?.trim();
			if (!owner) return fail('roll forward: name the hotfix owner');
			return {ok: true, error: null, data: {decision: 'roll-forward', owner}};
		}
		case 'backup': {
			if (!client) return fail('no database found');
			const entry = await freshBackup(facts, options.reason ?? 'db backup', options, signal);
			return {ok: true, error: null, data: {backup: entry}};
		}
		case 'restore':
			return restore(facts, action, signal, options);
		case 'down':
			return stepDown(facts, action, signal, options);
	}
}

async function restore(facts: DatabaseFacts, action: DatabaseAction, signal: AbortSignal, options: RunDatabaseOptions): Promise<Outcome> {
	const client = facts.client;
	const backup = action.backup;
	if (!client || !backup) return fail('no database or no backup');
	if (client.db.kind === 'sqlite') return restoreSqlite(facts, backup, signal, options);
	// 1. The checksum, before anything is touched.
	await verifyBackup(backup, bytes => options.onProgress?.('checksum', bytes, backup.bytes));
	const stats = await readStats(backup.path);
	// 2. A fresh backup of what is there now.
	const fresh = options.skipFreshBackup ? null : await freshBackup(facts, `before restoring ${backup.path}`, options, signal);
	// 3. The application services stop; the database keeps running.
	const stopped = facts.releaseContainers.filter(c => c.running);
	options.onProgress?.('stop', 0, stopped.length);
	await client.engine.stopContainers(stopped.map(c => c.id));
	// 4. The restore, in one transaction, the dump streamed in on stdin.
	const result = await client.engine.exec(client.containerId, client.restoreArgv(), {
		env: client.clientEnv,
		stdin: createReadStream(backup.path),
		signal,
		onStdinBytes: bytes => options.onProgress?.('restore', bytes, backup.bytes),
	});
	const common = {backup: backup.path, freshBackup: fresh?.path ?? null, stopped: stopped.map(c => c.name)};
	if (result.exitCode !== 0) {
		const said = result.stderr.split('\n').map(l => l.trim()).filter(l => l && !/^(NOTICE|DETAIL|HINT):/.test(l));
		// The mariadb client prints the failed statement (between dashes) before its ERROR line.
		const first = said.find(l => /^ERROR \d+/.test(l)) ?? said[0] ?? `exit ${result.exitCode}`;
		const state = client.restoreIsOneTransaction ? 'the transaction was rolled back' : `the database is PARTLY restored (${client.db.kind} commits each table's DDL on its own)`;
		return {ok: false, error: `restore failed (exit ${result.exitCode}): ${first}; ${state}${fresh ? `; the fresh backup is ${fresh.path}` : ''}; the app services stay stopped`, exitCode: result.exitCode, data: {...common, partlyRestored: !client.restoreIsOneTransaction}};
	}
	// 5. Verify: the migration head and the row counts (and columns) the backup recorded.
	options.onProgress?.('verify', 0, null);
	const {head, rows, problems} = await checkAgainstBackup(client, backup, stats, {tables: options.tables, migrationsTable: facts.migrations?.table ?? null});
	const data = {...common, head, rows, verified: problems.length === 0, next: 'Stabilise: redeploy the last known good, then Verify'};
	if (problems.length > 0) return {ok: false, error: `restored, but the check failed: ${problems.join('; ')}`, exitCode: 0, data};
	return {ok: true, error: null, exitCode: 0, data};
}

async function stepDown(facts: DatabaseFacts, action: DatabaseAction, signal: AbortSignal, options: RunDatabaseOptions): Promise<Outcome> {
	const client = facts.client;
	const down = facts.downCommand;
	if (!client || !down || !action.expectHead) return fail('no database or no down command');
	// Exactly one step per confirmation: the head must still be the one confirmed.
	const before = await client.migrations(facts.migrations?.table ?? null);
	if (before.head !== action.expectHead) {
		throw new ConsoleError(
			`refusing another step down: the head is ${before.head ?? 'none'} now, not ${action.expectHead} as confirmed; a new step needs a new confirmation (look again: rollback-console db)`,
		);
	}
	const fresh = options.skipFreshBackup ? null : await freshBackup(facts, `before stepping down from ${action.expectHead}`, options, signal);
	options.onProgress?.('down', 0, null);
	const result = await client.engine.exec(down.containerId, down.argv, {signal});
	const after = await client.migrations(facts.migrations?.table ?? null).catch(() => null);
	const data = {from: action.expectHead, to: after?.head ?? null, expected: action.nextHead ?? null, freshBackup: fresh?.path ?? null, output: `${result.stdout}${result.stderr}`.trim().split('\n').slice(-10)};
	if (result.exitCode !== 0) {
		const first = `${result.stderr}\n${result.stdout}`.split('\n').map(l => l.trim()).find(Boolean) ?? '';
		return {ok: false, error: `${down.argv.join(' ')} failed (exit ${result.exitCode}): ${first}`, exitCode: result.exitCode, data};
	}
	if ((after?.head ?? null) !== (action.nextHead ?? null)) {
		return {ok: false, error: `the down command ran, but the head is ${after?.head ?? 'none'}, not ${action.nextHead ?? 'none'}`, exitCode: 0, data};
	}
	return {ok: true, error: null, exitCode: 0, data};
}
