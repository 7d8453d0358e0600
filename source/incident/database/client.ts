import type {DatabaseEngine, ExecResult} from '../../engine/database-types.js';
import {ConsoleError} from '../../errors.js';
import type {FoundDatabase} from './detect.js';
import {MIGRATION_TABLES, lookedFor, migrationQuery, normaliseTime, orderMigrations, type AppliedMigration} from './migration-tables.js';
import {mysqlDumpArgv, mysqlQueryArgv, mysqlRestoreArgv, unescapeBatchField} from './mysql.js';
import {copySqliteOut, hostSqlite, mergeSidecars, noHostSqlite, queryHostFile} from './sqlite-file.js';
import {mkdtempSync, rmSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';

/**
 * Talking to the database only through the Engine's exec API, with the database's own
 * client inside its container (psql, mysql, sqlite3) — never by container IP.
 */

export interface MigrationsFound {
	table: string;
	tools: string;
	applied: AppliedMigration[];
	head: string | null;
	hasTimes: boolean;
}

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
const ident = (name: string) => name.split('.').map(p => `"${p.replace(/"/g, '""')}"`).join('.');

/** SQLite that cannot be read here (no sqlite3 in the container, no node:sqlite in this runtime): the step goes on without its migrations. */
export class SqliteUnreadable extends ConsoleError {}

/** How a SQLite file is read: sqlite3 exec'd in the container, or a paused copy through the archive API read on the host. */
export type SqliteVia = 'exec' | 'archive';

const credentialProblem = /role ".*" does not exist|password authentication failed|database ".*" does not exist|Access denied for user|Unknown database|no password supplied|peer authentication failed/i;

export class DatabaseClient {
	#via: Promise<SqliteVia> | null = null;
	#snapshot: Promise<string> | null = null;

	constructor(
		readonly db: FoundDatabase,
		readonly engine: DatabaseEngine,
		/** A SQLite file on this host to read instead (a backup, a copy): no container at all. */
		readonly hostFile: string | null = null,
	) {}

	/**
	 * SQLite: sqlite3 in the container when it is running and has it; else the archive API
	 * (the file copied out while the container is paused, read on the host).
	 */
	sqliteVia(): Promise<SqliteVia> {
		this.#via ??= (async () => {
			const c = this.db.container;
			if (!c?.running) return 'archive';
			const probe = await this.engine.exec(c.id, ['sqlite3', '-version']).catch(() => null);
			return probe?.exitCode === 0 && /^3\./.test(probe.stdout.trim()) ? 'exec' : 'archive';
		})().then(via => (this.via = via));
		return this.#via;
	}

	/** How the SQLite file was read, once sqliteVia() answered (null before, and for other engines). */
	via: SqliteVia | null = null;

	/** Removes the archive copy (a long-lived console must not pile them up in /tmp); the next read takes a new one. */
	async releaseCopy(): Promise<void> {
		const copy = this.#snapshot;
		this.#snapshot = null;
		const path = await copy?.catch(() => null);
		if (path) await rm(dirname(path), {recursive: true, force: true});
	}

	/** The archive copy the host reads: taken once per client (one pause) until releaseCopy(), removed when the process ends at the latest. */
	async #hostCopy(what: string): Promise<string> {
		if (this.hostFile) return this.hostFile;
		this.#snapshot ??= (async () => {
			const where = `${this.db.file} in ${this.db.service}`;
			if (!(await hostSqlite())) throw new SqliteUnreadable(`${what}: the SQLite file ${where} cannot be read here: no sqlite3 in the ${this.db.service} container, and ${noHostSqlite}`);
			const c = this.db.container;
			if (!c) throw new ConsoleError(`the service ${this.db.service} has no container: the SQLite file cannot be copied out`);
			const dir = mkdtempSync(join(tmpdir(), 'rollback-console-sqlite-'));
			process.once('exit', () => rmSync(dir, {recursive: true, force: true}));
			const path = join(dir, 'copy.db');
			const copy = await copySqliteOut(this.engine, c.id, this.db.file!, path);
			if (copy.sidecars.length > 0) await mergeSidecars(path);
			return path;
		})();
		return this.#snapshot;
	}

	get containerId(): string {
		const c = this.db.container;
		if (!c) throw new ConsoleError(`the database service ${this.db.service} has no container: start it (docker compose up -d ${this.db.service})`);
		if (!c.running) throw new ConsoleError(`the database service ${this.db.service} is not running (container ${c.name}): start it (docker compose up -d ${this.db.service}); nothing was changed`);
		return c.id;
	}

	/** Variables the client reads its password from (the container's own settings). */
	get clientEnv(): Record<string, string> {
		const env = this.db.container?.env ?? {};
		if (this.db.kind === 'postgres') {
			return {PGCONNECT_TIMEOUT: '10', ...(env['POSTGRES_PASSWORD'] ? {PGPASSWORD: env['POSTGRES_PASSWORD']} : {})};
		}
		if (this.db.kind === 'mysql') {
			const password = this.db.user === 'root' ? (env['MYSQL_ROOT_PASSWORD'] ?? env['MARIADB_ROOT_PASSWORD']) : (env['MYSQL_PASSWORD'] ?? env['MARIADB_PASSWORD']);
			return password ? {MYSQL_PWD: password} : {};
		}
		return {};
	}

	/** The argv that runs one SQL text and prints rows tab-separated. */
	queryArgv(sql: string): string[] {
		const {kind, user, database, file} = this.db;
		if (kind === 'postgres') return ['psql', '-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-U', user, '-d', database, '-c', sql];
		if (kind === 'mysql') return mysqlQueryArgv(user, database, sql);
		return ['sqlite3', '-batch', '-noheader', '-separator', '\t', file!, sql];
	}

	/** Turns a client's failure into one line: the service down, credentials wrong, or the client's own words. */
	explain(result: ExecResult, what: string): ConsoleError {
		const first = `${result.stderr}\n${result.stdout}`.split('\n').map(l => l.trim()).find(Boolean) ?? `exit code ${result.exitCode}`;
		if (credentialProblem.test(first)) {
			return new ConsoleError(
				`the database in ${this.db.service} refused ${this.db.user ? `user ${this.db.user}` : 'us'}${this.db.database ? ` on ${this.db.database}` : ''}: ${first.replace(/^(psql|mysql|mariadb|ERROR \d+ \([^)]*\)):\s*/i, '')} (wrong credentials? set x-rollback-console.database.user/database); nothing was changed`,
			);
		}
		if (/could not connect to server|connection to server .* failed|Can't connect to local MySQL|No such file or directory.*socket/i.test(first)) {
			return new ConsoleError(`the database in ${this.db.service} does not answer: ${first}; nothing was changed`);
		}
		if (result.exitCode === 126 || result.exitCode === 127 || /executable file not found|not found in \$PATH/i.test(first)) {
			return new ConsoleError(`${what}: the ${this.db.kind === 'mysql' ? 'mysql (or mariadb)' : this.queryArgv('')[0]} client is not in the ${this.db.service} container (${first})`);
		}
		return new ConsoleError(`${what}: ${first}`, 3);
	}

	#mysqlDatabase: Promise<void> | null = null;

	/**
	 * MySQL with no database named (no MYSQL_DATABASE/MARIADB_DATABASE, none configured): the
	 * one database that has a migrations table, asked once.
	 */
	#pickMysqlDatabase(what: string): Promise<void> {
		this.#mysqlDatabase ??= (async () => {
			const tables = MIGRATION_TABLES.map(t => sqlString(t.table)).join(', ');
			const sql = `SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name IN (${tables}) AND table_schema NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') ORDER BY 1`;
			const result = await this.engine.exec(this.containerId, mysqlQueryArgv(this.db.user, '', sql), {env: this.clientEnv});
			if (result.exitCode !== 0) throw this.explain(result, what);
			const names = result.stdout.split('\n').filter(Boolean).map(unescapeBatchField);
			if (names.length !== 1) {
				throw new ConsoleError(
					`which database in ${this.db.service}? No MYSQL_DATABASE/MARIADB_DATABASE, and ${names.length === 0 ? `none has a migrations table (looked for ${lookedFor(null)})` : `${names.join(', ')} each have a migrations table`}: set x-rollback-console.database.database`,
				);
			}
			this.db.database = names[0]!;
		})();
		return this.#mysqlDatabase;
	}

	async query(sql: string, what = 'a query'): Promise<string[][]> {
		if (this.db.kind === 'mysql' && !this.db.database) await this.#pickMysqlDatabase(what);
		if (this.db.kind === 'sqlite' && (this.hostFile || (await this.sqliteVia()) === 'archive')) {
			const path = await this.#hostCopy(what);
			try {
				return await queryHostFile(path, sql);
			} catch (error) {
				if (error instanceof ConsoleError) throw error;
				throw new ConsoleError(`${what}: ${(error as Error).message}`, 3);
			}
		}
		const result = await this.engine.exec(this.containerId, this.queryArgv(sql), {env: this.clientEnv}).catch(error => {
			if (/is not running|container .* is restarting|No such container/i.test(String((error as Error).message))) {
				throw new ConsoleError(`the database service ${this.db.service} is not running: start it (docker compose up -d ${this.db.service}); nothing was changed`);
			}
			throw error;
		});
		// sqlite3 reports some errors with exit 0 on stderr.
		if (result.exitCode !== 0 || (this.db.kind === 'sqlite' && /^(Error|Parse error|Runtime error)/m.test(result.stderr))) throw this.explain(result, what);
		return result.stdout
			.split('\n')
			.filter(line => line !== '')
			.map(line => (this.db.kind === 'mysql' ? line.split('\t').map(unescapeBatchField) : line.split('\t')));
	}

	/** Base tables, schema-qualified where the engine has schemas. */
	async tables(): Promise<string[]> {
		const sql =
			this.db.kind === 'postgres'
				? "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
				: this.db.kind === 'mysql'
					? "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"
					: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1";
		return (await this.query(sql, 'listing the tables')).map(r => r[0]!);
	}

	async columns(table: string): Promise<string[]> {
		const [schema, name] = table.includes('.') ? table.split('.', 2) : [null, table];
		const sql =
			this.db.kind === 'sqlite'
				? `SELECT name FROM pragma_table_info(${sqlString(name!)}) ORDER BY cid`
				: `SELECT column_name FROM information_schema.columns WHERE table_name = ${sqlString(name!)}${schema ? ` AND table_schema = ${sqlString(schema)}` : this.db.kind === 'mysql' ? ' AND table_schema = DATABASE()' : ''} ORDER BY ordinal_position`;
		return (await this.query(sql, `reading the columns of ${table}`)).map(r => r[0]!);
	}

	/** Each table's columns, in one query. */
	async allColumns(): Promise<Record<string, string[]>> {
		if (this.db.kind === 'sqlite') {
			const out: Record<string, string[]> = {};
			for (const t of await this.tables()) out[t] = await this.columns(t);
			return out;
		}
		const sql =
			this.db.kind === 'postgres'
				? "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, ordinal_position"
				: 'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, ordinal_position';
		const out: Record<string, string[]> = {};
		for (const [table, column] of await this.query(sql, 'reading the columns')) (out[table!] ??= []).push(column!);
		return out;
	}

	async rowCounts(tables: readonly string[]): Promise<Record<string, number>> {
		if (tables.length === 0) return {};
		const sql = tables.map(t => `SELECT ${sqlString(t)}, COUNT(*) FROM ${this.db.kind === 'mysql' ? `\`${t.replace(/`/g, '``')}\`` : ident(t)}`).join(' UNION ALL ');
		return Object.fromEntries((await this.query(sql, 'counting rows')).map(([t, n]) => [t!, Number(n)]));
	}

	/** Bytes the database takes (the dump is usually smaller: this is an upper estimate). */
	async size(): Promise<number | null> {
		if (this.db.kind === 'sqlite' && !this.hostFile && (await this.sqliteVia()) === 'archive') {
			// The file and its -wal as they are: no copy (and no pause) just to measure.
			const c = this.db.container!;
			const sizes = await Promise.all(['', '-wal'].map(s => this.engine.statPath(c.id, `${this.db.file}${s}`)));
			return sizes.reduce((n, st) => n + (st?.size ?? 0), 0);
		}
		const sql =
			this.db.kind === 'postgres'
				? 'SELECT pg_database_size(current_database())'
				: this.db.kind === 'mysql'
					? 'SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE()'
					: 'SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()';
		const n = Number((await this.query(sql, 'measuring the database'))[0]?.[0]);
		return Number.isFinite(n) ? n : null;
	}

	/** The migrations table (configured, else the first of the common ones present) and what it lists. */
	async migrations(configured: string | null): Promise<MigrationsFound> {
		const wanted = configured ? [{table: configured, tools: 'configured'}] : MIGRATION_TABLES;
		const tables = await this.tables();
		const base = (t: string) => (this.db.kind === 'postgres' ? t.slice(t.indexOf('.') + 1) : t);
		for (const candidate of wanted) {
			const name = candidate.table.includes('.') ? candidate.table : candidate.table;
			const qualified = tables.find(t => t === name) ?? tables.find(t => base(t) === base(name) && t.startsWith('public.')) ?? tables.find(t => base(t) === base(name));
			if (!qualified) continue;
			const columns = await this.columns(qualified);
			const q = this.db.kind === 'mysql' ? migrationQuery(qualified, columns, undefined, 'mysql') : migrationQuery(base(qualified), columns, ident(qualified));
			if (!q) throw new ConsoleError(`the migrations table ${qualified} has no version column (looked for version, version_num, migration_name, name)`);
			const rows = await this.query(q.sql, `reading ${qualified}`);
			const applied = orderMigrations(
				rows.map(([version, time]) => ({version: version!, appliedAt: time && time !== '' && time !== 'NULL' ? normaliseTime(time) : null})),
			);
			return {table: qualified, tools: candidate.tools, applied, head: applied.at(-1)?.version ?? null, hasTimes: q.hasTime};
		}
		throw new ConsoleError(
			`no migrations table found in ${this.db.kind} database ${this.db.database || this.db.file} (service ${this.db.service}): looked for ${lookedFor(configured)}; set x-rollback-console.database.migrations_table`,
		);
	}

	/** The dump command: a consistent online copy written to stdout. */
	dumpArgv(): {argv: string[]; ext: string; format: string} {
		const {kind, user, database, file} = this.db;
		if (kind === 'postgres') return {argv: ['pg_dump', '-Fc', '-U', user, '-d', database], ext: 'dump', format: 'pg_dump custom format'};
		if (kind === 'mysql') return {argv: mysqlDumpArgv(user, database), ext: 'sql', format: 'mysqldump --single-transaction'};
		// sqlite3's .backup writes only to a seekable file; .dump is its online copy as SQL, to stdout.
		return {argv: ['sqlite3', '-batch', file!, '.dump'], ext: 'sqlite.sql', format: 'sqlite3 .dump (SQL)'};
	}

	/**
	 * Whether a restore is all or nothing. MySQL commits each DDL statement on its own: its
	 * restore replaces the tables one by one, and one that stops midway leaves them partly
	 * restored (said so; the fresh backup taken first is the way back).
	 */
	get restoreIsOneTransaction(): boolean {
		return this.db.kind !== 'mysql';
	}

	/**
	 * The restore command, reading the dump on stdin, in one transaction: the schemas the dump
	 * covers are replaced whole, so tables a later migration added go too. When the dump
	 * cannot be read to its end nothing is committed.
	 */
	restoreArgv(): string[] {
		const {kind, user, database} = this.db;
		if (kind === 'postgres') {
			// Without COMMIT (pg_restore could not read the dump to its end) psql reaches the end of
			// its input inside the transaction, and the server rolls it back.
			const script = [
				'fail=$(mktemp -u)',
				`{ echo 'BEGIN;'; echo 'DROP SCHEMA IF EXISTS public CASCADE;'; echo 'CREATE SCHEMA public;';`,
				`  if pg_restore --clean --if-exists --no-owner -f - ; then echo 'COMMIT;'; else : > "$fail"; fi; } |`,
				`  PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -U "$1" -d "$2" >/dev/null`,
				'rc=$?',
				`if [ -e "$fail" ]; then rm -f "$fail"; echo 'pg_restore could not read the backup to its end: nothing was committed' >&2; exit 4; fi`,
				'exit $rc',
			].join('\n');
			return ['sh', '-c', script, 'restore', user, database];
		}
		if (kind === 'mysql') return mysqlRestoreArgv(user, database);
		// SQLite is never restored by piping into a client: sqlite-restore.ts builds a new file and renames it in.
		throw new Error('restoreArgv: a SQLite restore goes through restoreSqlite (sqlite-restore.ts)');
	}
}
