import type {BackupEntry, BackupStats} from './backups.js';
import type {DatabaseClient} from './client.js';

/**
 * After a restore (or before swapping a rebuilt SQLite file in): does the database hold what
 * the backup counted — the migration head, the row counts of the named tables (or all the
 * backup counted), their columns?
 */
export interface RestoreCheck {
	head: string | null;
	rows: Record<string, {backup: number | null; now: number | null}>;
	problems: string[];
}

export async function checkAgainstBackup(
	client: DatabaseClient,
	backup: BackupEntry,
	stats: BackupStats | null,
	options: {tables?: string[] | undefined; migrationsTable: string | null},
): Promise<RestoreCheck> {
	const migrations = await client.migrations(options.migrationsTable).catch(() => null);
	const problems: string[] = [];
	const head = migrations?.head ?? null;
	if (backup.migrationHead && head !== backup.migrationHead) problems.push(`migration head is ${head ?? 'none'}, the backup had ${backup.migrationHead}`);
	const wanted = options.tables && options.tables.length > 0 ? options.tables : Object.keys(stats?.rows ?? {});
	const qualified = (t: string) => (stats?.rows && t in stats.rows ? t : (Object.keys(stats?.rows ?? {}).find(k => k.endsWith(`.${t}`)) ?? t));
	const names = wanted.map(qualified);
	const counts = await client.rowCounts(names).catch(error => {
		problems.push(`row counts: ${(error as Error).message}`);
		return {} as Record<string, number>;
	});
	const rows: RestoreCheck['rows'] = {};
	for (const t of names) {
		rows[t] = {backup: stats?.rows[t] ?? null, now: counts[t] ?? null};
		if (stats && rows[t]!.backup !== rows[t]!.now) problems.push(`${t}: ${rows[t]!.now ?? 'missing'} rows, the backup counted ${rows[t]!.backup ?? 'no such table'}`);
	}
	if (stats) {
		const columns = await client.allColumns().catch(() => ({}) as Record<string, string[]>);
		for (const t of names) {
			if (stats.columns[t] && JSON.stringify(stats.columns[t]) !== JSON.stringify(columns[t] ?? [])) problems.push(`${t}: columns differ from the backup's`);
		}
	} else problems.push(`the backup's counts (${backup.path}.json) are missing: nothing to compare with`);
	return {head, rows, problems};
}
