import {createReadStream} from 'node:fs';
import {copyFile, mkdtemp, readFile, rm, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';
import {Writable} from 'node:stream';
import type {DatabaseEngine} from '../../engine/database-types.js';
import {ConsoleError} from '../../errors.js';
import type {Outcome} from '../step-kit.js';
import {readStats, sha256File, takeBackup, verifyBackup, type BackupEntry} from './backups.js';
import {DatabaseClient} from './client.js';
import type {FoundDatabase} from './detect.js';
import type {DatabaseFacts} from './gather.js';
import {checkAgainstBackup} from './restore-check.js';
import type {RunDatabaseOptions} from './run-options.js';
import {execHostFile, hostSqlite, mergeSidecars, noHostSqlite} from './sqlite-file.js';

/**
 * Restoring a SQLite file. The database lives in the app's own volume, so the app stops first;
 * the file is rebuilt as a NEW file beside the original (`app.db.restoring-<time>`), checked,
 * and only then renamed over it — the live file is never truncated or written in place, and
 * on any failure the original stays as it was and the new file goes. sqlite3 runs in a
 * one-off helper container made from the app's image with the app's mounts and no network;
 * without sqlite3 there, a raw backup (or a dump rebuilt on the host with node:sqlite) is put
 * in through the archive API and read back to check its bytes.
 */

/** Moves the stale -wal/-shm/-journal aside, renames the new file over the old, then drops them; puts them back if the rename fails. */
const SWAP = `f=$1 new=$2 t=$3
chown "$(stat -c %u:%g "$f" 2>/dev/null)" "$new" 2>/dev/null
chmod "$(stat -c %a "$f" 2>/dev/null)" "$new" 2>/dev/null
aside=""
back() { for s in $aside; do mv -f "$f$s.replaced-$t" "$f$s"; done; }
for s in -wal -shm -journal; do
  if [ -e "$f$s" ]; then
    mv -f "$f$s" "$f$s.replaced-$t" || { back; echo "could not move $f$s aside" >&2; exit 5; }
    aside="$aside $s"
  fi
done
if mv -f "$new" "$f"; then
  for s in $aside; do rm -f "$f$s.replaced-$t"; done
  sync
  exit 0
fi
back
echo "could not rename $new to $f" >&2
exit 4`;

const TIDY = 'f=$1; for s in -wal -shm -journal; do [ -e "$f$s" ] && chown "$(stat -c %u:%g "$f")" "$f$s" 2>/dev/null; done; exit 0';

/** A step that failed before the swap: the original is untouched. */
class NotSwapped extends Error {}

const firstLine = (text: string, fallback: string) => text.split('\n').map(l => l.trim()).find(Boolean) ?? fallback;
const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const nullSink = () => new Writable({write: (_chunk, _encoding, done) => done()});

async function probeTools(engine: DatabaseEngine, helper: string): Promise<{sqlite3: boolean; shell: boolean}> {
	const [sqlite3, shell] = await Promise.all([
		engine.exec(helper, ['sqlite3', '-version']).catch(() => null),
		engine.exec(helper, ['sh', '-c', 'for c in mv rm stat chown chmod; do command -v $c >/dev/null || exit 1; done; echo ok']).catch(() => null),
	]);
	return {sqlite3: sqlite3?.exitCode === 0 && /^3\./.test(sqlite3.stdout.trim()), shell: shell?.exitCode === 0 && shell.stdout.trim() === 'ok'};
}

/** A raw backup (or a dump) as one self-contained file on the host, ready to put in; null when the backup is a dump and sqlite3 in the helper rebuilds it. */
async function hostSource(backup: BackupEntry, isDump: boolean, useHelperSqlite: boolean): Promise<{path: string; cleanup: () => Promise<void>} | null> {
	if (isDump && useHelperSqlite) return null;
	// Always a copy: the backup itself is never opened by SQLite, read-only or not (a runtime may
	// open it read-write, and a header in WAL mode makes even a reader write beside it).
	const dir = await mkdtemp(join(tmpdir(), 'rollback-console-restore-'));
	const cleanup = () => rm(dir, {recursive: true, force: true});
	try {
		const path = join(dir, 'restored.db');
		if (isDump) await execHostFile(path, await readFile(backup.path, 'utf8'));
		else {
			await copyFile(backup.path, path);
			for (const side of backup.sidecars ?? []) await copyFile(`${backup.path}${side.suffix}`, `${path}${side.suffix}`);
			if (backup.sidecars?.length) await mergeSidecars(path);
		}
		return {path, cleanup};
	} catch (error) {
		await cleanup();
		throw new NotSwapped(`rebuilding ${basename(backup.path)} on this host failed: ${(error as Error).message}`);
	}
}

/** Why this backup cannot be restored with the tools there are (checked before anything is touched); null when it can. */
function refusal(tools: {sqlite3: boolean; shell: boolean}, backup: BackupEntry, image: string, host: boolean): string | null {
	const isDump = backup.path.endsWith('.sql');
	if (!tools.shell) return `the image ${image} has no shell tools (sh, mv, rm, stat) to put the file in place with`;
	if (isDump && !tools.sqlite3 && !host) return `rebuilding a .dump needs sqlite3, which is not in the image ${image}, and ${noHostSqlite}`;
	if (!isDump && backup.sidecars?.length && !host) return `the backup's ${backup.sidecars.map(s => s.suffix).join(', ')} must be folded in first, and ${noHostSqlite}`;
	return null;
}

const refused = (backup: BackupEntry, file: string, why: string) => new ConsoleError(`cannot restore ${basename(backup.path)} into ${file}: ${why}; nothing was touched`);

/**
 * Before asking: can this backup be restored here at all? A helper is started from the app's
 * image, asked for sqlite3 and the shell tools, and removed. Throws one line (exit 2) when not.
 */
export async function checkSqliteRestore(facts: DatabaseFacts, backup: BackupEntry): Promise<void> {
	const {db, engine} = facts.client!;
	const app = db.container;
	if (!app) throw new ConsoleError(`the service ${db.service} has no container: its volume cannot be reached; nothing was touched`);
	const helper = await engine.startHelper(app.imageId, app.id);
	try {
		const why = refusal(await probeTools(engine, helper), backup, app.image, Boolean(await hostSqlite()));
		if (why) throw refused(backup, db.file!, why);
	} finally {
		await engine.removeContainer(helper).catch(() => {});
	}
}

export async function restoreSqlite(facts: DatabaseFacts, backup: BackupEntry, signal: AbortSignal, options: RunDatabaseOptions): Promise<Outcome> {
	const client = facts.client!;
	const {db, engine} = client;
	const app = db.container;
	const file = db.file!;
	if (!app) throw new ConsoleError(`the service ${db.service} has no container: its volume cannot be reached; nothing was touched`);
	// 1. The checksum, before anything is touched.
	await verifyBackup(backup, bytes => options.onProgress?.('checksum', bytes, backup.bytes));
	const stats = await readStats(backup.path);
	const isDump = backup.path.endsWith('.sql');
	const host = await hostSqlite();

	// 2. The helper: the app's image and mounts, no network; it runs what the stopped app cannot.
	const helper = await engine.startHelper(app.imageId, app.id);
	try {
		const tools = await probeTools(engine, helper);
		const why = refusal(tools, backup, app.image, Boolean(host));
		if (why) throw refused(backup, file, why);

		// 3. The application services stop: the file is theirs.
		const stopped = facts.releaseContainers.filter(c => c.running);
		options.onProgress?.('stop', 0, stopped.length);
		await engine.stopContainers(stopped.map(c => c.id));
		const common: Record<string, unknown> = {backup: backup.path, freshBackup: null, stopped: stopped.map(c => c.name)};
		const helperDb: FoundDatabase = {...db, container: {...app, id: helper, name: `a helper from ${app.name}'s image`, running: true}};
		const stayStopped = stopped.length > 0 ? '; the app services stay stopped (docker compose start, or Stabilise)' : '';

		// 4. A fresh backup of the file as the app left it (the helper reads it now).
		if (!options.skipFreshBackup) {
			try {
				const fresh = await takeBackup({
					client: new DatabaseClient(helperDb, engine),
					dir: facts.backupDir,
					project: facts.project,
					release: facts.currentTag,
					reason: `before restoring ${backup.path}`,
					signal,
					...(options.onProgress ? {onProgress: (bytes: number) => options.onProgress!('backup', bytes, null)} : {}),
				});
				common['freshBackup'] = fresh.path;
			} catch (error) {
				return {ok: false, error: `the fresh backup failed: ${(error as Error).message}; nothing was restored, ${file} is untouched${stayStopped}`, exitCode: 3, data: common};
			}
		}

		// 5. The new file beside the original, 6. its check, 7. the swap.
		const next = `${file}.restoring-${stamp()}`;
		const source = await hostSource(backup, isDump, tools.sqlite3).catch(error => {
			if (error instanceof NotSwapped) return error;
			throw error;
		});
		if (source instanceof NotSwapped) return {ok: false, error: `${source.message}; ${file} is untouched${stayStopped}`, exitCode: 3, data: common};
		const notes: string[] = [];
		let wrote = false;
		try {
			// The archive API would write over a file that is there, whoever's: it must be a new one.
			if (await engine.statPath(helper, next)) throw new NotSwapped(`${next} is there already`);
			wrote = true;
			if (source) {
				const size = (await stat(source.path)).size;
				const expected = await sha256File(source.path);
				options.onProgress?.('restore', 0, size);
				await engine.putFile(helper, next, createReadStream(source.path), size, 0o644);
				options.onProgress?.('restore', size, size);
				const back = await engine.copyFileOut(helper, next, nullSink());
				if (back.sha256 !== expected) throw new NotSwapped(`the file written into the volume is not the backup's bytes (${back.bytes} of ${size} read back)`);
			} else {
				const result = await engine.exec(helper, ['sqlite3', '-bail', '-batch', next], {
					stdin: createReadStream(backup.path),
					signal,
					onStdinBytes: bytes => options.onProgress?.('restore', bytes, backup.bytes),
				});
				if (result.exitCode !== 0 || /^(Error|Parse error|Runtime error)/m.test(result.stderr)) {
					throw new NotSwapped(`sqlite3 could not rebuild the file (exit ${result.exitCode}): ${firstLine(result.stderr, 'no message')}`);
				}
			}
			options.onProgress?.('verify', 0, null);
			const checker = tools.sqlite3 ? new DatabaseClient({...helperDb, file: next}, engine) : source && host ? new DatabaseClient(db, engine, source.path) : null;
			const problems: string[] = [];
			let check: Awaited<ReturnType<typeof checkAgainstBackup>> | null = null;
			if (checker) {
				const integrity = (await checker.query('PRAGMA integrity_check', 'checking the new file')).map(r => r[0]).join('; ');
				if (integrity !== 'ok') problems.push(`integrity_check: ${integrity.slice(0, 200)}`);
				check = await checkAgainstBackup(checker, backup, stats, {tables: options.tables, migrationsTable: facts.migrations?.table ?? null});
				// A raw copy is the backup's own bytes (read back above): without its counts there is nothing more to compare.
				problems.push(...check.problems.filter(p => !(stats === null && !isDump && p.includes('are missing'))));
				if (stats === null && !isDump) notes.push("the backup recorded no row counts: checked its bytes and integrity_check");
			} else notes.push(`checked the bytes only (integrity_check needs sqlite3 in the image or node:sqlite here)`);
			if (problems.length > 0) throw new NotSwapped(`the new file failed its check: ${problems.join('; ')}`);
			const swap = await engine.exec(helper, ['sh', '-c', SWAP, 'swap', file, next, stamp()]);
			if (swap.exitCode !== 0) throw new NotSwapped(`the rename failed: ${firstLine(swap.stderr, `exit ${swap.exitCode}`)}`);
			const data = {...common, file, head: check?.head ?? backup.migrationHead, rows: check?.rows ?? {}, verified: true, notes, next: 'Stabilise: redeploy the last known good, then Verify'};
			return {ok: true, error: null, exitCode: 0, data};
		} catch (error) {
			if (wrote) await engine.exec(helper, ['rm', '-f', next, `${next}-journal`, `${next}-wal`]).catch(() => {});
			if (!(error instanceof NotSwapped) && !(error instanceof ConsoleError)) throw error;
			const fresh = common['freshBackup'] ? `; the fresh backup is ${String(common['freshBackup'])}` : '';
			return {ok: false, error: `restore failed: ${error.message}; ${file} is untouched and the new file was removed${fresh}${stayStopped}`, exitCode: 3, data: common};
		} finally {
			await source?.cleanup();
		}
	} finally {
		// sqlite3 ran as root in the helper: a -wal/-shm it left beside the file goes back to the file's owner.
		await engine.exec(helper, ['sh', '-c', TIDY, 'tidy', file]).catch(() => {});
		await engine.removeContainer(helper).catch(() => {});
	}
}
