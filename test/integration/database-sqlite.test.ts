// The Database step against a real SQLite file in the app's volume, migrated by a real tool
// (dbmate) when each release starts: with sqlite3 in the app's image (v3.x, built on
// local/postgres:15) and without it (v2.x, built on local/busybox: dbmate only).
import assert from 'node:assert/strict';
import {execFile, spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {promisify} from 'node:util';
import {CLI, oneLine, ROOT, runCli, type CliResult} from '../support/cli.js';
import {backupsDir, createDbStack, ensureDbImages, logLines, recordBackup, writeReleases, type DbStack} from '../support/database-stack.js';

const execFileAsync = promisify(execFile);

const env = (stack: DbStack) => ({COMPOSE_PROJECT_NAME: stack.project, IMAGE_TAG: ''});
const db = (stack: DbStack, args: string[]) => runCli([...args, '--state-dir', stack.stateDir], {cwd: stack.dir, env: env(stack), timeoutMs: 120_000});

// The release binary runs on Bun, which has node:sqlite; Node 20 has not. The same built CLI under Bun covers that path.
const BUN = join(ROOT, 'node_modules', '@oven', 'bun-linux-x64-baseline', 'bin', 'bun');
function bunDb(stack: DbStack, args: string[]): Promise<CliResult> {
	return new Promise(resolve => {
		execFile(BUN, [CLI, ...args, '--state-dir', stack.stateDir], {cwd: stack.dir, env: {...process.env, NO_COLOR: '1', ...env(stack)}, timeout: 120_000, maxBuffer: 32 << 20}, (error, stdout, stderr) => {
			const code = (error as {code?: unknown} | null)?.code;
			resolve({stdout, stderr, exitCode: error ? (typeof code === 'number' ? code : 1) : 0});
		});
	});
}
const nodeHasSqlite = await import('node:sqlite').then(
	() => true,
	() => false,
);

const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const app = (stack: DbStack) => `${stack.project}-app-1`;

/** sqlite3 in a one-off container (local/postgres:15 has it) with the app's volume: works whether the app runs or not, and whatever its image. */
async function sqlite(stack: DbStack, sql: string, file = '/data/app.db', mounts = ['--volumes-from', app(stack)]): Promise<string> {
	const {stdout} = await execFileAsync('docker', ['run', '--rm', '--network', 'none', ...mounts, '--entrypoint', 'sqlite3', 'local/postgres:15', '-batch', file, sql]);
	return stdout.trim();
}

/** The volume's files and the database file's sha256, read without touching it. */
async function volume(stack: DbStack): Promise<{files: string[]; sha: string}> {
	const {stdout} = await execFileAsync('docker', ['run', '--rm', '--network', 'none', '--volumes-from', app(stack), 'local/busybox:latest', 'sh', '-c', 'ls -1a /data; sha256sum /data/app.db']);
	const lines = stdout.trim().split('\n');
	return {files: lines.slice(0, -1).filter(f => f !== '.' && f !== '..'), sha: lines.at(-1)!.split(/\s+/)[0]!};
}

async function state(stack: DbStack): Promise<{running: boolean; paused: boolean}> {
	const {stdout} = await execFileAsync('docker', ['inspect', '-f', '{{.State.Running}} {{.State.Paused}}', app(stack)]);
	const [running, paused] = stdout.trim().split(' ');
	return {running: running === 'true', paused: paused === 'true'};
}

const summary = async (stack: DbStack) => ({
	versions: await sqlite(stack, "SELECT group_concat(version, ',') FROM (SELECT version FROM schema_migrations ORDER BY version)"),
	columns: await sqlite(stack, "SELECT group_concat(name, ',') FROM pragma_table_info('orders')"),
	counts: await sqlite(stack, "SELECT (SELECT count(*) FROM users) || ',' || (SELECT count(*) FROM orders)"),
});

const ROWS = "INSERT INTO users VALUES (1, 'a@example.test'), (2, 'b@example.test'), (3, 'c@example.test'); INSERT INTO orders VALUES (1, 1, 10), (2, 1, 20), (3, 2, 5), (4, 3, 7), (5, 3, 1);";


describe('database: a SQLite file in the app volume, sqlite3 in the image', {timeout: 600_000}, () => {
	let stack: DbStack;
	let first: Record<string, any>;
	before(async () => {
		await ensureDbImages();
		stack = await createDbStack('sqlite');
		await stack.deploy('v3.0.0');
		await execFileAsync('docker', ['exec', app(stack), 'sqlite3', '/data/app.db', ROWS]);
	});
	after(async () => stack?.down());

	test('found with no configuration, backed up with sqlite3 .dump; a destructive migration flagged with its line', async () => {
		const b = await db(stack, ['db', 'backup']);
		assert.equal(b.exitCode, 0, b.stderr);
		first = (await logLines(stack))[0]!;
		assert.equal(first!['migrationHead'], '20260101000002');
		assert.match(first!['path'], /\.sqlite\.sql$/);
		assert.equal((await stat(first!['path'])).mode & 0o777, 0o600);
		assert.equal(sha256(await readFile(first!['path'])), first!['sha256']);
		assert.match(await readFile(first!['path'], 'utf8'), /CREATE TABLE orders/);

		await stack.deploy('v3.1.0');
		const r = await db(stack, ['db', '--json', '--to', 'v3.0.0']);
		assert.equal(r.exitCode, 1, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['found'].kind, 'sqlite');
		assert.equal(out['found'].file, '/data/app.db');
		assert.equal(out['migrations'].table, 'schema_migrations');
		assert.equal(out['boundary'].rule, 'shipped');
		assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000004']);
		assert.deepEqual(out['boundary'].past[0].flagged.map((f: any) => [f.line, f.rule]), [[4, 'DROP COLUMN']]);
		assert.ok(out['plan'].actions.some((a: any) => a.kind === 'restore' && a.backup.path === first['path']), 'the restore of the pre-upgrade backup is offered');
		assert.equal((await summary(stack)).columns, 'id,user_id,amount_cents', 'v3.1.0 dropped orders.total');
	});

	test('with releases.jsonl records: the recorded head is the boundary, the destructive line flagged as without them', async () => {
		const releases = join(stack.stateDir, stack.project, 'releases.jsonl');
		const before = await readFile(releases, 'utf8').catch(() => null);
		await writeReleases(stack, [
			{tag: 'v3.0.0', event: 'verified', migrationHead: '20260101000002'},
			{tag: 'v3.1.0', event: 'deployed', migrationHead: null},
		]);
		try {
			const r = await db(stack, ['db', '--json']);
			assert.equal(r.exitCode, 1, r.stderr);
			const out = json(r.stdout);
			assert.equal(out['target'].tag, 'v3.0.0');
			assert.equal(out['target'].how, 'last-known-good');
			assert.equal(out['boundary'].rule, 'recorded');
			assert.equal(out['boundary'].targetHead, '20260101000002');
			assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000004']);
			assert.equal(out['boundary'].verdict, 'destructive');
			assert.deepEqual(out['boundary'].past[0].flagged.map((f: any) => [f.line, f.rule]), [[4, 'DROP COLUMN']]);
		} finally {
			if (before === null) await rm(releases, {force: true});
			else await writeFile(releases, before);
		}
	});

	test('a corrupted backup is refused with one line; the file and the app untouched', async () => {
		const bad = Buffer.from(await readFile(first['path']));
		bad[bad.length - 20] = bad[bad.length - 20]! ^ 0xff;
		await recordBackup(stack, first, 'corrupt.sqlite.sql', bad, first['sha256']);
		const before = await volume(stack);
		const r = await db(stack, ['db', 'restore', 'corrupt.sqlite.sql', '--yes']);
		assert.equal(r.exitCode, 2, r.stderr);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.match(oneLine(r.stderr), /backup corrupt\.sqlite\.sql is corrupted: its sha256 is .*backups\.log recorded .*nothing was touched/);
		assert.deepEqual(await volume(stack), before);
		assert.deepEqual(await state(stack), {running: true, paused: false});
	});

	test('a restore that fails midway (a truncated dump) leaves the original byte-identical and no new file', async () => {
		const whole = await readFile(first['path']);
		await recordBackup(stack, first, 'truncated.sqlite.sql', whole.subarray(0, Math.floor(whole.length * 0.6)));
		const before = await volume(stack);
		const r = await db(stack, ['db', 'restore', 'truncated.sqlite.sql', '--yes']);
		assert.equal(r.exitCode, 3, `${r.stdout}\n${r.stderr}`);
		assert.match(oneLine(r.stderr), /restore failed: .*\/data\/app\.db is untouched and the new file was removed; the fresh backup is .*; the app services stay stopped/);
		assert.deepEqual(await volume(stack), before, 'the same bytes, and no app.db.restoring-* left');
		assert.equal((await state(stack)).running, false, 'stopped, as a PostgreSQL restore leaves it');
		await stack.compose(['up', '-d', '--wait']);
	});

	test('backup → destructive migration → restore brings back the rows, the columns and the head, through a new file renamed in', async () => {
		const r = await db(stack, ['db', 'restore', first['path'].split('/').at(-1), '--yes', '--json']);
		assert.equal(r.exitCode, 0, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['ok'], true, out['error']);
		assert.deepEqual(out['data'].rows['orders'], {backup: 5, now: 5});
		assert.equal(out['data'].head, '20260101000002');
		assert.deepEqual(await summary(stack), {versions: '20260101000001,20260101000002', columns: 'id,user_id,total', counts: '3,5'});
		assert.equal(await sqlite(stack, 'PRAGMA integrity_check'), 'ok');
		assert.deepEqual((await volume(stack)).files, ['app.db'], 'no restoring file, no stale -wal/-shm');
		// The fresh backup holds the destructive state; the app is left stopped for Stabilise.
		const fresh = (await logLines(stack)).filter(e => e['reason'].startsWith('before restoring'));
		assert.equal(fresh.at(-1)!['migrationHead'], '20260201000004');
		assert.equal((await state(stack)).running, false);
		// The helper container is gone.
		const {stdout} = await execFileAsync('docker', ['ps', '-aq', '--filter', 'label=io.rollback-console.helper']);
		assert.equal(stdout.trim(), '');
	});
});

describe('database: a SQLite file in the app volume, no sqlite3 in any container', {timeout: 600_000}, () => {
	let stack: DbStack;
	let raw: Record<string, any>;
	before(async () => {
		await ensureDbImages();
		stack = await createDbStack('sqlite');
		await stack.deploy('v2.0.0'); // local/busybox and dbmate: no sqlite3 binary
		await sqlite(stack, ROWS);
	});
	after(async () => stack?.down());

	test('the migration state is read from a paused copy where the runtime has node:sqlite, else said in one line', async () => {
		const probe = await execFileAsync('docker', ['exec', app(stack), 'sh', '-c', 'command -v sqlite3 || echo none']);
		assert.equal(probe.stdout.trim(), 'none');
		const r = await db(stack, ['db', '--json']);
		const out = json(r.stdout);
		assert.equal(out['found'].kind, 'sqlite');
		if (nodeHasSqlite) assert.equal(out['migrations'].head, '20260101000002');
		else {
			assert.equal(r.exitCode, 1, r.stderr);
			assert.equal(out['migrations'], null);
			assert.ok(
				out['notes'].some((n: string) => /the SQLite file \/data\/app\.db in app cannot be read here: no sqlite3 in the app container, and node:sqlite is not in this runtime/.test(n)),
				out['notes'].join('\n'),
			);
			assert.deepEqual(out['plan'].actions.map((a: any) => a.kind), ['backup'], 'backing up is still offered');
		}
		if (existsSync(BUN)) {
			const bun = await bunDb(stack, ['db', '--json']);
			assert.equal(json(bun.stdout)['migrations']?.head, '20260101000002', bun.stderr);
		}
		assert.deepEqual(await state(stack), {running: true, paused: false});
	});

	test('db backup copies the file out through the archive API with the app paused: a consistent raw .sqlite, 0600, sha256, and what it could not do', async () => {
		const r = await db(stack, ['db', 'backup']);
		assert.equal(r.exitCode, 0, r.stderr);
		assert.match(r.stdout, /Note: no sqlite3 in the app container: \/data\/app\.db was copied out through the archive API, the container paused meanwhile/);
		if (!nodeHasSqlite) assert.match(r.stdout, /Note: migration head and row counts not recorded: node:sqlite is not in this runtime/);
		const [entry] = await logLines(stack);
		assert.match(entry!['path'], /\.sqlite$/);
		assert.equal(entry!['format'], 'SQLite file (archive API, container paused)');
		const bytes = await readFile(entry!['path']);
		assert.equal(sha256(bytes), entry!['sha256']);
		assert.equal(entry!['bytes'], bytes.length);
		assert.equal((await stat(entry!['path'])).mode & 0o777, 0o600);
		assert.deepEqual(await state(stack), {running: true, paused: false}, 'unpaused after');
		const mount = ['-v', `${backupsDir(stack)}:/b:ro`];
		const file = `/b/${entry!['path'].split('/').at(-1)}`;
		assert.equal(await sqlite(stack, 'PRAGMA integrity_check', file, mount), 'ok');
		assert.equal(await sqlite(stack, "SELECT (SELECT count(*) FROM users) || ',' || (SELECT count(*) FROM orders)", file, mount), '3,5');
		raw = entry!;
		if (existsSync(BUN)) {
			// Under Bun (the release binary's runtime) the copy is read: head and row counts recorded.
			const bun = await bunDb(stack, ['db', 'backup']);
			assert.equal(bun.exitCode, 0, bun.stderr);
			const last = (await logLines(stack)).at(-1)!;
			assert.equal(last['migrationHead'], '20260101000002');
			assert.deepEqual(JSON.parse(await readFile(`${last['path']}.json`, 'utf8')).rows, {orders: 5, schema_migrations: 2, users: 3});
			raw = last;
		}
	});

	test('a SQL dump cannot be rebuilt without sqlite3 or node:sqlite: one line, exit 2, nothing touched', async t => {
		if (nodeHasSqlite) return t.skip('this Node has node:sqlite: the dump is rebuilt on the host');
		const {stdout} = await execFileAsync('docker', ['run', '--rm', '--network', 'none', '--volumes-from', app(stack), '--entrypoint', 'sqlite3', 'local/postgres:15', '/data/app.db', '.dump'], {maxBuffer: 16 << 20});
		await recordBackup(stack, {...raw, format: 'sqlite3 .dump (SQL)'}, 'by-hand.sqlite.sql', Buffer.from(stdout));
		const before = await volume(stack);
		const r = await db(stack, ['db', 'restore', 'by-hand.sqlite.sql', '--yes']);
		assert.equal(r.exitCode, 2, r.stderr);
		assert.match(oneLine(r.stderr), /cannot restore by-hand\.sqlite\.sql into \/data\/app\.db: rebuilding a \.dump needs sqlite3, which is not in the image .*, and node:sqlite is not in this runtime.*; nothing was touched/);
		assert.deepEqual(await volume(stack), before);
		assert.deepEqual(await state(stack), {running: true, paused: false});
		if (existsSync(BUN)) {
			// Under Bun the same dump is rebuilt on the host with node:sqlite and put in as a new file.
			const bun = await bunDb(stack, ['db', 'restore', 'by-hand.sqlite.sql', '--yes', '--json']);
			assert.equal(bun.exitCode, 0, `${bun.stdout}\n${bun.stderr}`);
			assert.equal(json(bun.stdout)['ok'], true);
			assert.deepEqual(await summary(stack), {versions: '20260101000001,20260101000002', columns: 'id,user_id,total', counts: '3,5'});
			assert.deepEqual((await volume(stack)).files, ['app.db']);
		}
	});

	test('a destructive migration, then restoring the raw copy puts it in as a new file and renames it over', async () => {
		await stack.deploy('v2.2.0');
		assert.equal((await summary(stack)).columns, 'id,user_id,amount_cents');
		const r = await db(stack, ['db', 'restore', raw['path'].split('/').at(-1), '--yes']);
		assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
		assert.match(r.stdout, /Restored .*\.sqlite: head 20260101000002/);
		assert.deepEqual(await summary(stack), {versions: '20260101000001,20260101000002', columns: 'id,user_id,total', counts: '3,5'});
		assert.equal((await volume(stack)).sha, raw['sha256'], 'the backup\'s own bytes');
		assert.deepEqual((await volume(stack)).files, ['app.db']);
		assert.equal((await state(stack)).running, false, 'left stopped for Stabilise');
		const fresh = (await logLines(stack)).at(-1)!;
		assert.match(fresh['reason'], /^before restoring/);
		assert.match(fresh['path'], /\.sqlite$/, 'the fresh backup: a copy through the archive API too');
		const backups = await readdir(backupsDir(stack));
		assert.deepEqual(backups.filter(f => f.endsWith('.partial')), []);
	});

	test('with the app stopped (as a restore leaves it) the file is still found, and a restore can run again', async () => {
		const r = await db(stack, ['db', '--json']);
		const out = json(r.stdout);
		assert.equal(out['found']?.kind, 'sqlite', r.stderr);
		assert.equal(out['found'].file, '/data/app.db');
		assert.match(out['found'].how, /the SQLite file the last backup recorded, in a mount of app \(stopped\)/);
		const again = await db(stack, ['db', 'restore', raw['path'].split('/').at(-1), '--yes']);
		assert.equal(again.exitCode, 0, `${again.stdout}\n${again.stderr}`);
		assert.equal((await volume(stack)).sha, raw['sha256']);
	});

	test('a -wal with committed pages is copied with the file: kept beside the backup without node:sqlite, folded in with it; the restore removes the stale -wal/-shm', async () => {
		await stack.compose(['up', '-d', '--wait']);
		// A writer in WAL mode killed before it could checkpoint: its insert lives only in app.db-wal.
		const writer = `${stack.project}-walwriter`;
		await execFileAsync('docker', ['run', '-d', '--name', writer, '--network', 'none', '--volumes-from', app(stack), '--entrypoint', 'sqlite3', 'local/postgres:15', '/data/app.db', 'PRAGMA journal_mode=WAL;', "INSERT INTO users VALUES (4, 'd@example.test');", '.system sleep 300']);
		try {
			for (let i = 0; i < 200 && !(await volume(stack)).files.includes('app.db-wal'); i++) await new Promise(r => setTimeout(r, 50));
			await new Promise(r => setTimeout(r, 300));
		} finally {
			await execFileAsync('docker', ['rm', '-f', writer]);
		}
		assert.ok((await volume(stack)).files.includes('app.db-wal'));
		const n = (await logLines(stack)).length;
		const r = await db(stack, ['db', 'backup']);
		assert.equal(r.exitCode, 0, r.stderr);
		const entry = (await logLines(stack))[n]!;
		if (!nodeHasSqlite) {
			assert.match(r.stdout, /Note: its -wal is kept beside it \(folding it in needs node:sqlite\)/);
			assert.equal(entry['sidecars'][0].suffix, '-wal');
			assert.equal(sha256(await readFile(`${entry['path']}-wal`)), entry['sidecars'][0].sha256);
			const refused = await db(stack, ['db', 'restore', entry['path'].split('/').at(-1), '--yes']);
			assert.equal(refused.exitCode, 2, refused.stderr);
			assert.match(oneLine(refused.stderr), /cannot restore .*\.sqlite into \/data\/app\.db: the backup's -wal must be folded in first, and node:sqlite is not in this runtime.*nothing was touched/);
		}
		if (!existsSync(BUN)) return;
		const bun = await bunDb(stack, ['db', 'backup']);
		assert.equal(bun.exitCode, 0, bun.stderr);
		const folded = (await logLines(stack)).at(-1)!;
		assert.equal(folded['sidecars'], undefined);
		assert.equal(existsSync(`${folded['path']}-wal`), false);
		assert.equal(JSON.parse(await readFile(`${folded['path']}.json`, 'utf8')).rows.users, 4, 'the row only the -wal held is in the copy');
		// Restore the raw copy from before the writer: the stale -wal must not be applied to it.
		const restored = await bunDb(stack, ['db', 'restore', raw['path'].split('/').at(-1), '--yes']);
		assert.equal(restored.exitCode, 0, `${restored.stdout}\n${restored.stderr}`);
		assert.deepEqual((await volume(stack)).files, ['app.db'], 'no -wal/-shm left beside the restored file');
		assert.equal((await summary(stack)).counts, '3,5');
		assert.equal(await sqlite(stack, 'PRAGMA integrity_check'), 'ok');
		// And the folded copy brings the fourth user back.
		const back = await bunDb(stack, ['db', 'restore', folded['path'].split('/').at(-1), '--yes']);
		assert.equal(back.exitCode, 0, `${back.stdout}\n${back.stderr}`);
		assert.equal((await summary(stack)).counts, '4,5');
	});

	test('a backup interrupted while the app is paused unpauses it and records nothing', async () => {
		await stack.compose(['up', '-d', '--wait']);
		// Enough bytes that the copy takes a while, so the signal lands during the pause.
		await sqlite(stack, 'CREATE TABLE big AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150) SELECT x, randomblob(1048576) AS pad FROM c');
		const n = (await logLines(stack)).length;
		const child = spawn(process.execPath, [CLI, 'db', 'backup', '--state-dir', stack.stateDir], {cwd: stack.dir, env: {...process.env, ...env(stack)}, stdio: 'ignore'});
		const exited = new Promise(r => child.once('exit', r));
		try {
			let paused = false;
			for (let i = 0; i < 400 && !paused; i++) paused = (await state(stack)).paused;
			assert.ok(paused, 'the app was paused during the copy');
			child.kill('SIGTERM');
			await exited;
			assert.deepEqual(await state(stack), {running: true, paused: false});
			assert.equal((await logLines(stack)).length, n, 'nothing recorded');
		} finally {
			child.kill('SIGKILL');
			await execFileAsync('docker', ['unpause', app(stack)]).catch(() => {});
			await sqlite(stack, 'DROP TABLE big');
		}
	});
});
