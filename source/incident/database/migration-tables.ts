/**
 * The migration tables of the common tools, and how to read the applied migrations (with
 * their times, where the tool records them) from whichever one the database has.
 */

export interface MigrationTable {
	table: string;
	tools: string;
}

/** Looked for in this order; the first one present is the migrations table. */
export const MIGRATION_TABLES: readonly MigrationTable[] = [
	{table: 'schema_migrations', tools: 'golang-migrate, Rails, dbmate, plain SQL runners'},
	{table: 'alembic_version', tools: 'Alembic'},
	{table: '_prisma_migrations', tools: 'Prisma'},
	{table: 'knex_migrations', tools: 'Knex'},
	{table: 'goose_db_version', tools: 'goose'},
	{table: 'flyway_schema_history', tools: 'Flyway'},
	{table: 'django_migrations', tools: 'Django'},
	{table: '__drizzle_migrations', tools: 'Drizzle'},
];

export const lookedFor = (configured: string | null) =>
	configured ? `the configured table ${configured}` : MIGRATION_TABLES.map(t => t.table).join(', ');

/** One applied migration. */
export interface AppliedMigration {
	version: string;
	/** When the tool recorded it as applied (ISO), where it records that. */
	appliedAt: string | null;
}

// Candidate columns, most specific first. A tool's own table has one of each.
const versionColumns = ['version', 'version_num', 'migration_name', 'version_id', 'name', 'hash'];
const timeColumns = ['applied_at', 'migration_time', 'finished_at', 'installed_on', 'applied', 'tstamp', 'created_at', 'inserted_at'];

export interface MigrationQuery {
	sql: string;
	hasTime: boolean;
}

/** PostgreSQL and SQLite speak ANSI SQL here; MySQL/MariaDB quote with backticks, cast to CHAR, and read || as OR. */
export type SqlDialect = 'ansi' | 'mysql';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const backtick = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/**
 * The SELECT that lists the applied migrations as (version, time) rows, from the columns the
 * table has; null when it has no column that names a migration.
 */
export function migrationQuery(table: string, columns: readonly string[], qualified?: string, dialect: SqlDialect = 'ansi'): MigrationQuery | null {
	const q = dialect === 'mysql' ? backtick : quote;
	const has = new Set(columns.map(c => c.toLowerCase()));
	const version = versionColumns.find(c => has.has(c));
	if (!version) return null;
	const time = timeColumns.find(c => has.has(c)) ?? null;
	let versionExpr = q(version);
	if (table === 'django_migrations' && has.has('app')) versionExpr = dialect === 'mysql' ? `CONCAT(${q('app')}, '.', ${q('name')})` : `${q('app')} || '.' || ${q('name')}`;
	if (table === 'flyway_schema_history' && has.has('script')) versionExpr = `COALESCE(${q('version')}, ${q('script')})`;
	const where: string[] = [];
	if (table === '_prisma_migrations') where.push(`${q('finished_at')} IS NOT NULL`, `${q('rolled_back_at')} IS NULL`);
	if (table === 'flyway_schema_history' && has.has('success')) where.push(q('success'));
	if (table === 'goose_db_version' && has.has('is_applied')) where.push(q('is_applied'));
	if (has.has('dirty')) where.push(`NOT ${q('dirty')}`);
	const timeExpr = time ? `CAST(${q(time)} AS ${dialect === 'mysql' ? 'CHAR' : 'TEXT'})` : 'NULL';
	return {
		sql: `SELECT ${versionExpr}, ${timeExpr} FROM ${qualified ?? q(table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
		hasTime: time !== null,
	};
}

/** Natural order: numeric versions by value, then text. */
export function compareVersions(a: string, b: string): number {
	if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
	return a.localeCompare(b, 'en', {numeric: true});
}

/** Oldest first: by time where every row has one, else by version. */
export function orderMigrations(rows: AppliedMigration[]): AppliedMigration[] {
	const byTime = rows.length > 0 && rows.every(r => r.appliedAt);
	return [...rows].sort((a, b) =>
		byTime ? Date.parse(normaliseTime(a.appliedAt!)) - Date.parse(normaliseTime(b.appliedAt!)) || compareVersions(a.version, b.version) : compareVersions(a.version, b.version),
	);
}

/** Database time text ('2026-11-22 03:12:00.123+00') as ISO. */
export function normaliseTime(text: string): string {
	const t = text.trim().replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
	const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(t) ? t : `${t}Z`);
	return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}
