import type {ArchivedFile} from '../../engine/database-types.js';
import {flagStatements, upSection, type FlaggedStatement} from './sql-heuristic.js';

/**
 * The migrations a release ships in its image: the files of its migrations directory, each
 * with the names an applied migration may carry in the tool's table, and its SQL's flags.
 */

export interface ShippedMigration {
	/** The file, relative to the migrations directory. */
	file: string;
	/** Versions this file stands for: 20261101120000, 0003_add_x, the Prisma folder name, … */
	keys: string[];
	/** The SQL that runs on the way up, when the file is SQL. */
	sql: string | null;
	flagged: FlaggedStatement[];
}

/** The directories looked in, in order, when none is configured. */
export function migrationDirs(configured: string | undefined, workingDir: string): string[] {
	if (configured) return [configured];
	const wd = workingDir.replace(/\/+$/, '') || '';
	const dirs = [
		'/app/migrations',
		`${wd}/migrations`,
		`${wd}/db/migrations`,
		`${wd}/db/migrate`,
		'/app/db/migrations',
		'/app/db/migrate',
		`${wd}/migrations/versions`,
		`${wd}/prisma/migrations`,
		'/app/prisma/migrations',
	];
	return [...new Set(dirs.map(d => d.replace(/^\/\//, '/')))];
}

const isMigrationFile = (path: string) => /\.(sql|py|rb|js|ts|cjs|mjs|go)$/i.test(path) && !/(^|\/)(__init__|env|schema)\.py$/.test(path) && !/(^|\/)schema\.(rb|sql)$/.test(path);

/** The names a file may be recorded under. */
export function keysFor(path: string, text: string): string[] {
	const parts = path.split('/');
	const base = parts.at(-1)!;
	const stem = base.replace(/\.(up|down)\.sql$/i, '').replace(/\.[^.]+$/, '');
	const keys = new Set<string>([base, stem]);
	const digits = /^(\d+)/.exec(stem)?.[1];
	if (digits) {
		keys.add(digits);
		keys.add(String(Number(digits)));
	}
	// Prisma: <timestamp>_<name>/migration.sql is recorded under the folder's name.
	if (parts.length >= 2 && base === 'migration.sql') keys.add(parts.at(-2)!);
	// Alembic: the revision id is in the file.
	const revision = /^revision\s*(?::\s*str\s*)?=\s*['"]([^'"]+)['"]/m.exec(text)?.[1];
	if (revision) keys.add(revision);
	// Django: <app>/migrations/0001_initial.py is recorded as app.0001_initial (we read it that way).
	const app = parts.length >= 3 && parts.at(-2) === 'migrations' ? parts.at(-3) : null;
	if (app) keys.add(`${app}.${stem}`);
	return [...keys];
}

export function shippedMigrations(files: readonly ArchivedFile[]): ShippedMigration[] {
	return files
		.filter(f => isMigrationFile(f.path) && !/\.down\.sql$/i.test(f.path))
		.map(f => {
			const sql = /\.sql$/i.test(f.path) ? upSection(f.path, f.text) : null;
			return {file: f.path, keys: keysFor(f.path, f.text), sql, flagged: sql ? flagStatements(sql) : []};
		});
}

/** The shipped file an applied version stands for, if any. */
export const shippedFile = (shipped: readonly ShippedMigration[], version: string): ShippedMigration | null =>
	shipped.find(s => s.keys.includes(version)) ?? null;
