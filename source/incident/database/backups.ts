import {createHash} from 'node:crypto';
import {createReadStream, createWriteStream} from 'node:fs';
import {link, mkdir, open, readFile, rename, stat, statfs, unlink} from 'node:fs/promises';
import {basename, isAbsolute, join, resolve} from 'node:path';
import {ConsoleError, exitCodes} from '../../errors.js';
import {formatBytes} from '../../presentation/format.js';
import {appendLine, errorCode, isDiskFull, readJsonLines, syncDir, writeFileAtomic} from '../atomic-file.js';
import {DatabaseClient} from './client.js';
import {checkMysqlDumpComplete} from './mysql.js';
import {copySqliteOut, hostSqlite, mergeSidecars, noHostSqlite, SIDECARS} from './sqlite-file.js';

/**
 * Backups: a dump streamed out of the database container straight into
 * `<state>/<project>/backups/` (0600), hashed on the way, given its name (never over another file) only when the
 * dump finished well, then appended to backups.log. A dump that fails midway (or whose
 * process is killed) leaves at most a `.partial` file that nothing lists as a backup.
 */

export interface BackupEntry {
	time: string;
	project: string;
	/** The release running when it was taken. */
	release: string | null;
	migrationHead: string | null;
	bytes: number;
	sha256: string;
	path: string;
	durationMs: number;
	engine: string;
	database: string;
	format: string;
	/** Why it was taken: `db backup`, `before deploy of v1.4.0`, `before restore`, … */
	reason: string;
	/** A raw SQLite copy: its -wal/-journal kept beside it (`<path>-wal`), when they could not be folded in. */
	sidecars?: Array<{suffix: string; bytes: number; sha256: string}>;
	/** What the backup could not do (a raw SQLite copy without node:sqlite: no head, no counts). */
	notes?: string[];
}

/** What the restore verifies against: counted just before the dump (a busy app may add rows during it). */
export interface BackupStats {
	migrationHead: string | null;
	rows: Record<string, number>;
	columns: Record<string, string[]>;
}

export const backupsLog = (dir: string) => join(dir, 'backups.log');
export const statsFile = (path: string) => `${path}.json`;

export function backupDir(projectStateDir: string, configured: string | undefined, workingDir: string): string {
	if (!configured) return join(projectStateDir, 'backups');
	return isAbsolute(configured) ? configured : resolve(workingDir, configured);
}

/** Every backup backups.log records, oldest first, with whether its file is still there. */
export async function listBackups(dir: string): Promise<Array<BackupEntry & {present: boolean}>> {
	const entries = await readJsonLines<BackupEntry>(backupsLog(dir));
	return Promise.all(
		entries
			.filter(e => typeof e.path === 'string' && typeof e.sha256 === 'string')
			.map(async e => ({...e, present: await stat(e.path).then(s => s.isFile(), () => false)})),
	);
}

/** Removes one backup's files (the dump and its row counts); backups.log keeps its line, which then says it is gone. */
export async function removeBackupFiles(path: string, dir: string): Promise<void> {
	if (resolve(path) !== resolve(dir, basename(path))) throw new ConsoleError(`${path} is not in the backup directory ${dir}: not removed`);
	await unlink(path);
	await unlink(statsFile(path)).catch(() => {});
	for (const suffix of SIDECARS) await unlink(`${path}${suffix}`).catch(() => {});
}

/** Backups older than the retention: listed as removable (never removed silently). */
export function expiredBackups<T extends Pick<BackupEntry, 'time'>>(entries: readonly T[], retainDays: number, now = Date.now()): T[] {
	const cut = now - retainDays * 86_400_000;
	return entries.filter(e => Date.parse(e.time) < cut);
}

export async function sha256File(path: string, onBytes?: (bytes: number) => void, signal?: AbortSignal): Promise<string> {
	const hash = createHash('sha256');
	let bytes = 0;
	for await (const chunk of createReadStream(path, signal ? {signal} : {})) {
		hash.update(chunk as Buffer);
		bytes += (chunk as Buffer).length;
		onBytes?.(bytes);
	}
	return hash.digest('hex');
}

/** Refuses a restore from a file that is not the one backups.log recorded, before anything is touched. */
export async function verifyBackup(entry: BackupEntry, onBytes?: (bytes: number) => void): Promise<void> {
	const exists = await stat(entry.path).catch(() => null);
	if (!exists?.isFile()) throw new ConsoleError(`backup ${entry.path} is gone; nothing was touched`);
	const actual = await sha256File(entry.path, onBytes);
	if (actual !== entry.sha256) {
		throw new ConsoleError(
			`backup ${basename(entry.path)} is corrupted: its sha256 is ${actual.slice(0, 16)}…, backups.log recorded ${entry.sha256.slice(0, 16)}…; refusing to restore it, nothing was touched`,
		);
	}
	for (const side of entry.sidecars ?? []) {
		const path = `${entry.path}${side.suffix}`;
		const sha = await sha256File(path).catch(() => null);
		if (sha !== side.sha256) {
			throw new ConsoleError(`backup ${basename(entry.path)} is corrupted: its ${basename(path)} is ${sha ? 'not the one backups.log recorded' : 'gone'}; refusing to restore it, nothing was touched`);
		}
	}
	if (entry.engine === 'mysql') await checkMysqlDumpComplete(entry.path);
}

// Milliseconds in the name: a restore's fresh backup and a `db backup` can start in the same second.
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-');

/**
 * Gives the finished dump its name without ever replacing a file there (rename would: a backup
 * of the same name, and its backups.log entry with it, would silently point at other bytes).
 */
async function publish(partial: string, path: string): Promise<void> {
	try {
		await link(partial, path);
	} catch (error) {
		if (errorCode(error) === 'EEXIST') throw new ConsoleError(`a backup named ${basename(path)} is there already: nothing recorded, nothing replaced`, 3);
		throw error;
	}
	await unlink(partial);
}
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');

export interface BackupRequest {
	client: DatabaseClient;
	dir: string;
	project: string;
	release: string | null;
	reason: string;
	signal?: AbortSignal;
	onProgress?: (bytes: number) => void;
	now?: () => number;
}

/** Checks the disk has room for the dump (estimated from the database's size), before starting. */
export async function checkRoom(client: DatabaseClient, dir: string): Promise<{estimate: number | null; free: number}> {
	await mkdir(dir, {recursive: true, mode: 0o700});
	// The size is only an estimate, but a database that is down or refuses our user is said
	// here, in its own words, before anything starts.
	const size = client.size().catch(error => {
		if (error instanceof ConsoleError && error.exitCode === exitCodes.usage) throw error;
		return null;
	});
	const [estimate, fs] = await Promise.all([size, statfs(dir)]);
	const free = fs.bavail * fs.bsize;
	// A custom-format dump is compressed: it rarely reaches the database's size. Ask for half
	// of it (and a margin) so a full disk is said before starting, not discovered midway.
	// SQLite's copy is the file itself, and its .dump text is rarely smaller.
	const need = estimate === null ? 0 : Math.ceil(client.db.kind === 'sqlite' ? estimate : estimate / 2) + (16 << 20);
	if (estimate !== null && free < need) {
		throw new ConsoleError(
			`not enough disk for the backup: ${formatBytes(free)} free in ${dir}, the ${client.db.kind} database is ${formatBytes(estimate)} (a dump needs about ${formatBytes(need)}); free some (rollback-console disk) or set x-rollback-console.database.backup_dir; nothing was written`,
		);
	}
	return {estimate, free};
}

/** Takes one backup; throws (after removing the partial file) when the dump fails. */
export async function takeBackup(request: BackupRequest): Promise<BackupEntry> {
	const {client, dir, project} = request;
	if (client.db.kind === 'sqlite' && (await client.sqliteVia()) === 'archive') return takeSqliteCopy(request);
	const now = request.now ?? Date.now;
	const containerId = client.containerId;
	// What a restore is checked against (head, row counts, columns) is read while the dump runs:
	// on a large database the counts scan every table, which before the dump was its cost twice.
	const stats = (async (): Promise<BackupStats> => {
		const [migrations, tables] = await Promise.all([client.migrations(null).catch(() => null), client.tables()]);
		const [rows, columns] = await Promise.all([client.rowCounts(tables), client.allColumns()]);
		return {migrationHead: migrations?.head ?? null, rows, columns};
	})();
	stats.catch(() => {}); // awaited after the dump; a failure then fails the backup
	await checkRoom(client, dir);
	const {argv, ext, format} = client.dumpArgv();
	const started = now();
	const name = `${safe(project)}-${stamp(started)}${request.release ? `-${safe(request.release)}` : ''}.${ext}`;
	const path = join(dir, name);
	const partial = `${path}.partial`;
	// O_EXCL: never overwrite a file that is there, whoever wrote it.
	const handle = await open(partial, 'wx', 0o600);
	const sink = createWriteStream('', {fd: handle.fd, autoClose: false});
	let sinkError: unknown = null;
	sink.on('error', error => (sinkError = error));
	let ok = false;
	try {
		const result = await client.engine.execToSink(containerId, argv, sink, {
			env: client.clientEnv,
			...(request.signal ? {signal: request.signal} : {}),
			...(request.onProgress ? {onBytes: request.onProgress} : {}),
		});
		await new Promise<void>((done, fail) => sink.end((error?: Error | null) => (error ? fail(error) : done())));
		if (sinkError) throw sinkError;
		if (request.signal?.aborted) throw new ConsoleError('the backup was cancelled: nothing recorded', 3);
		if (result.exitCode !== 0) {
			const first = result.stderr.split('\n').map(l => l.trim()).find(Boolean) ?? `exit code ${result.exitCode}`;
			throw new ConsoleError(`the dump failed midway (${argv[0]} exit ${result.exitCode}): ${first}; nothing recorded`, 3);
		}
		if (result.bytes === 0) throw new ConsoleError(`the dump was empty (${argv[0]}): nothing recorded`, 3);
		const recorded = await stats;
		await handle.sync();
		await handle.close();
		await publish(partial, path);
		await syncDir(dir);
		const entry: BackupEntry = {
			time: new Date(started).toISOString(),
			project,
			release: request.release,
			migrationHead: recorded.migrationHead,
			bytes: result.bytes,
			sha256: result.sha256,
			path,
			durationMs: now() - started,
			engine: client.db.kind,
			database: client.db.database || client.db.file || '',
			format,
			reason: request.reason,
		};
		await writeFileAtomic(statsFile(path), `${JSON.stringify(recorded)}\n`);
		await writeFileAtomic(`${path}.sha256`, `${entry.sha256}  ${name}\n`);
		await appendLine(backupsLog(dir), JSON.stringify(entry));
		ok = true;
		return entry;
	} catch (error) {
		if (isDiskFull(error) || isDiskFull(sinkError)) {
			throw new ConsoleError(`the disk filled up during the backup (${dir}): the partial dump was removed, nothing recorded`, 3);
		}
		throw error;
	} finally {
		if (!ok) {
			await handle.close().catch(() => {});
			await unlink(partial).catch(() => {});
		}
	}
}

/** The recorded stats of a backup; null when its .json is missing. */
export async function readStats(path: string): Promise<BackupStats | null> {
	try {
		return JSON.parse(await readFile(statsFile(path), 'utf8')) as BackupStats;
	} catch {
		return null;
	}
}

/**
 * SQLite without sqlite3 in the container: the file (and a -wal or hot -journal) copied out
 * through the archive API with the container paused, stored as a raw `.sqlite` file. Where the
 * runtime has node:sqlite the -wal is folded into the copy and the head and row counts are
 * read from it; without it the backup is still consistent, and its notes say what is missing.
 */
async function takeSqliteCopy(request: BackupRequest): Promise<BackupEntry> {
	const {client, dir, project} = request;
	const {db, engine} = client;
	const now = request.now ?? Date.now;
	const container = db.container;
	if (!container) throw new ConsoleError(`the service ${db.service} has no container: the SQLite file cannot be copied out`);
	await checkRoom(client, dir);
	const started = now();
	const name = `${safe(project)}-${stamp(started)}${request.release ? `-${safe(request.release)}` : ''}.sqlite`;
	const path = join(dir, name);
	const partial = `${path}.partial`;
	const notes = [`no sqlite3 in the ${db.service} container: ${db.file} was copied out through the archive API${container.running ? ', the container paused meanwhile' : ''}`];
	const renamed: string[] = [];
	let ok = false;
	try {
		const copy = await copySqliteOut(engine, container.id, db.file!, partial);
		if (request.signal?.aborted) throw new ConsoleError('the backup was cancelled: nothing recorded', 3);
		request.onProgress?.(copy.main.bytes);
		const host = await hostSqlite();
		let sidecars = copy.sidecars;
		if (sidecars.length > 0 && host) {
			await mergeSidecars(partial);
			sidecars = [];
		} else if (sidecars.length > 0) notes.push(`its ${sidecars.map(x => x.suffix).join(' and ')} is kept beside it (folding it in needs node:sqlite)`);
		let stats: BackupStats | null = null;
		if (host && sidecars.length === 0) {
			const local = new DatabaseClient(db, engine, partial);
			const [migrations, tables] = await Promise.all([local.migrations(null).catch(() => null), local.tables()]);
			stats = {migrationHead: migrations?.head ?? null, rows: await local.rowCounts(tables), columns: await local.allColumns()};
			if (!migrations) notes.push('no migrations table found in the copy: head not recorded');
		} else notes.push(`migration head and row counts not recorded: ${noHostSqlite}`);
		// The hash of the file as stored (after folding a -wal in, if it was).
		const sha256 = await sha256File(partial);
		const bytes = (await stat(partial)).size;
		// The file first: its name is then ours alone, and so are its sidecars' names.
		await publish(partial, path);
		renamed.push(path);
		for (const side of sidecars) {
			await rename(side.path, `${path}${side.suffix}`);
			renamed.push(`${path}${side.suffix}`);
		}
		await syncDir(dir);
		const entry: BackupEntry = {
			time: new Date(started).toISOString(),
			project,
			release: request.release,
			migrationHead: stats?.migrationHead ?? null,
			bytes,
			sha256,
			path,
			durationMs: now() - started,
			engine: db.kind,
			database: db.file ?? '',
			format: 'SQLite file (archive API, container paused)',
			reason: request.reason,
			...(sidecars.length > 0 ? {sidecars: sidecars.map(x => ({suffix: x.suffix, bytes: x.bytes, sha256: x.sha256}))} : {}),
			notes,
		};
		if (stats) await writeFileAtomic(statsFile(path), `${JSON.stringify(stats)}\n`);
		await writeFileAtomic(`${path}.sha256`, `${sha256}  ${name}\n`);
		await appendLine(backupsLog(dir), JSON.stringify(entry));
		ok = true;
		return entry;
	} catch (error) {
		if (isDiskFull(error)) throw new ConsoleError(`the disk filled up during the backup (${dir}): the partial copy was removed, nothing recorded`, 3);
		throw error;
	} finally {
		if (!ok) {
			for (const p of [partial, ...SIDECARS.map(x => `${partial}${x}`), ...renamed]) await unlink(p).catch(() => {});
		}
	}
}
