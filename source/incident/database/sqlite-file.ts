import {createWriteStream} from 'node:fs';
import {open, stat, unlink} from 'node:fs/promises';
import type {DatabaseEngine} from '../../engine/database-types.js';
import {ConsoleError} from '../../errors.js';

/**
 * A SQLite file read without sqlite3 in any container: copied out through the Engine's
 * archive API while the container is paused (never opened in place while the app writes),
 * and read on the host with the runtime's own SQLite (node:sqlite: Node ≥ 22.5, and Bun, which
 * the release binary runs on). Node 20 has none: then the copy is all we have, and we say so.
 */

/** The files SQLite keeps beside a database that hold committed or in-flight pages (-shm is only an index, rebuilt on open). */
export const SIDECARS = ['-wal', '-journal'] as const;

export const noHostSqlite = 'node:sqlite is not in this runtime (Node 22.5 or later, or the release binary, has it)';

type DatabaseSync = import('node:sqlite').DatabaseSync;
type DatabaseSyncClass = typeof import('node:sqlite').DatabaseSync;

let loaded: Promise<DatabaseSyncClass | null> | undefined;
/** The runtime's SQLite, or null when it has none. */
export function hostSqlite(): Promise<DatabaseSyncClass | null> {
	loaded ??= import('node:sqlite').then(
		m => m.DatabaseSync,
		() => null,
	);
	return loaded;
}

async function withDatabase<T>(path: string, readOnly: boolean, work: (db: DatabaseSync) => T): Promise<T> {
	const Sync = await hostSqlite();
	if (!Sync) throw new ConsoleError(`cannot read ${path}: ${noHostSqlite}`);
	const db = new Sync(path, {readOnly});
	try {
		return work(db);
	} finally {
		db.close();
	}
}

/** Rows as the sqlite3 shell prints them with -separator '\t': every value text, NULL empty. */
export function queryHostFile(path: string, sql: string): Promise<string[][]> {
	return withDatabase(path, true, db =>
		db
			.prepare(sql)
			.all()
			.map(row => Object.values(row as Record<string, unknown>).map(v => (v === null || v === undefined ? '' : String(v)))),
	);
}

/** Runs SQL text (a .dump) into a new file on the host; throws when it fails. */
export function execHostFile(path: string, sql: string): Promise<void> {
	return withDatabase(path, false, db => db.exec(sql));
}

/**
 * Folds a copied -wal (or rolls back a hot -journal) into the copied file, so the file alone
 * is the database: opened read-write (our copy, never the live one), journal mode DELETE.
 */
export async function mergeSidecars(path: string): Promise<void> {
	await withDatabase(path, false, db => {
		db.prepare('SELECT count(*) FROM sqlite_master').get();
		db.exec('PRAGMA journal_mode=DELETE');
	});
	for (const suffix of SIDECARS) {
		if ((await stat(`${path}${suffix}`).catch(() => null))?.size) throw new ConsoleError(`${path}${suffix} is still there after merging it`, 3);
	}
}

export interface CopiedFile {
	path: string;
	bytes: number;
	sha256: string;
}

export interface SqliteCopy {
	main: CopiedFile;
	/** The -wal/-journal copied beside it (non-empty ones only), named as SQLite names them. */
	sidecars: Array<CopiedFile & {suffix: string}>;
}

async function copyOne(engine: DatabaseEngine, containerId: string, from: string, to: string): Promise<CopiedFile> {
	// O_EXCL, 0600: never over a file that is there; a backup is as private as the database.
	const handle = await open(to, 'wx', 0o600);
	const sink = createWriteStream('', {fd: handle.fd, autoClose: false});
	let ok = false;
	try {
		const result = await engine.copyFileOut(containerId, from, sink);
		await new Promise<void>((done, fail) => sink.end((error?: Error | null) => (error ? fail(error) : done())));
		await handle.sync();
		ok = true;
		return {path: to, bytes: result.bytes, sha256: result.sha256};
	} finally {
		await handle.close().catch(() => {});
		if (!ok) await unlink(to).catch(() => {});
	}
}

/**
 * Copies `file` and its non-empty -wal/-journal out of the container to `to` (and `to-wal`, …)
 * with the container paused meanwhile (a stopped one needs no pause), so the copies are one
 * moment of the database. On failure nothing is left at `to`.
 */
export async function copySqliteOut(engine: DatabaseEngine, containerId: string, file: string, to: string): Promise<SqliteCopy> {
	const written: string[] = [];
	try {
		return await engine.whilePaused(containerId, async () => {
			const main = await copyOne(engine, containerId, file, to);
			written.push(to);
			const sidecars: SqliteCopy['sidecars'] = [];
			for (const suffix of SIDECARS) {
				const st = await engine.statPath(containerId, `${file}${suffix}`);
				if (!st || st.size === 0) continue;
				sidecars.push({...(await copyOne(engine, containerId, `${file}${suffix}`, `${to}${suffix}`)), suffix});
				written.push(`${to}${suffix}`);
			}
			return {main, sidecars};
		});
	} catch (error) {
		for (const path of written) await unlink(path).catch(() => {});
		throw error;
	}
}
