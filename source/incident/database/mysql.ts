import {open} from 'node:fs/promises';
import {basename} from 'node:path';
import {ConsoleError} from '../../errors.js';

/**
 * MySQL/MariaDB through the client inside the database's container. MariaDB 11's images have
 * only `mariadb` and `mariadb-dump`, MySQL's only `mysql` and `mysqldump`: the argv runs
 * whichever the container has (through its sh).
 */

const either = (mariadb: string, mysql: string) => `if command -v ${mariadb} >/dev/null 2>&1; then exec ${mariadb} "$@"; fi; exec ${mysql} "$@"`;

/** One SQL text, rows tab-separated without a header (`-N -B`). */
export function mysqlQueryArgv(user: string, database: string, sql: string): string[] {
	return ['sh', '-c', either('mariadb', 'mysql'), 'mysql', '-N', '-B', '-u', user, ...(database ? [database] : []), '-e', sql];
}

/**
 * A consistent online dump to stdout. --no-tablespaces: MySQL 8 wants the PROCESS privilege
 * for them, which an application user does not have, and a single database has none of its own.
 */
export function mysqlDumpArgv(user: string, database: string): string[] {
	return ['sh', '-c', either('mariadb-dump', 'mysqldump'), 'mysqldump', '--single-transaction', '--routines', '--triggers', '--no-tablespaces', '-u', user, database];
}

/** `-B` escapes a field's backslash, tab, newline and NUL; NULL is the text NULL. */
export function unescapeBatchField(field: string): string {
	return field.replace(/\\(.)/g, (_, c: string) => ({n: '\n', t: '\t', '0': '\0', '\\': '\\'})[c] ?? c);
}

/** Every table and view of the database, dropped before the dump is applied (what a later migration added goes too). */
const dropStatements =
	"SELECT CONCAT(IF(table_type = 'VIEW', 'DROP VIEW IF EXISTS `', 'DROP TABLE IF EXISTS `'), REPLACE(table_name, '`', '``'), '`;') FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_type = 'VIEW' DESC";

/** What run.ts says when the restore script stops because the dump ended early. */
export const MYSQL_INCOMPLETE_EXIT = 4;

/**
 * The restore, reading the dump on stdin. MySQL commits each DDL statement on its own, so this
 * cannot be one transaction: the database's tables and views are dropped and the dump applied
 * statement by statement, stopping at the first error. A dump that does not end with
 * mysqldump's "-- Dump completed" line (cut short) is said as such (exit 4): the database is
 * then partly restored, and the fresh backup taken before is the way back.
 */
export function mysqlRestoreArgv(user: string, database: string): string[] {
	const script = [
		'c=mysql; command -v mariadb >/dev/null 2>&1 && c=mariadb',
		'drops=$("$c" -N -B -u "$1" "$2" -e "$3") || exit $?',
		'fail=$(mktemp -u)',
		`{ printf 'SET FOREIGN_KEY_CHECKS=0;\\n%s\\n' "$drops"; awk '{ print } /^-- Dump completed/ { done = 1 } END { exit !done }' || : > "$fail"; } | "$c" -u "$1" "$2"`,
		'rc=$?',
		// The client's own error first: when it stops, awk is cut off too.
		'if [ "$rc" -ne 0 ]; then rm -f "$fail"; exit "$rc"; fi',
		`if [ -e "$fail" ]; then rm -f "$fail"; echo 'the backup ended before mysqldump'"'"'s "Dump completed" line (cut short)' >&2; exit ${MYSQL_INCOMPLETE_EXIT}; fi`,
		'exit 0',
	].join('\n');
	return ['sh', '-c', script, 'restore', user, database, dropStatements];
}

/**
 * mysqldump ends its output with a "-- Dump completed" comment. A backup without it was cut
 * short, and since a MySQL restore cannot be rolled back, it is refused before anything is
 * touched rather than found out midway.
 */
export async function checkMysqlDumpComplete(path: string): Promise<void> {
	const file = await open(path, 'r');
	try {
		const {size} = await file.stat();
		const length = Math.min(size, 4096);
		const {buffer} = await file.read(Buffer.alloc(length), 0, length, size - length);
		if (!/\n-- Dump completed\b/.test(`\n${buffer.toString('latin1')}`)) {
			throw new ConsoleError(`backup ${basename(path)} does not end with mysqldump's "Dump completed" line (cut short?): refusing to restore it, nothing was touched`);
		}
	} finally {
		await file.close();
	}
}
