// The Database step against a real MariaDB 10.11 (built offline from Debian's packages:
// scripts/images-mariadb.mjs), with migrations applied by a real tool (dbmate, mysql://)
// when each release starts: found with no configuration, the boundary after an additive and a
// destructive release, backup → destructive migration → restore, a restore cut short, wrong
// credentials.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {execFile} from 'node:child_process';
import {readFile, rm, stat, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {promisify} from 'node:util';
import {oneLine, runCli} from '../support/cli.js';
import {createDbStack, ensureMysqlImages, logLines, projectState, recordBackup, writeReleases, type DbStack} from '../support/database-stack.js';

const execFileAsync = promisify(execFile);

const db = (stack: DbStack, args: string[]) =>
	runCli([...args, '--state-dir', stack.stateDir], {cwd: stack.dir, env: {COMPOSE_PROJECT_NAME: stack.project, IMAGE_TAG: ''}, timeoutMs: 120_000});

const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;
const versions = (stack: DbStack) => stack.mysql("SELECT GROUP_CONCAT(version ORDER BY version) FROM schema_migrations");
const columns = (stack: DbStack, table: string) =>
	stack.mysql(`SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'app' AND table_name = '${table}'`);
const counts = (stack: DbStack) => stack.mysql('SELECT CONCAT((SELECT COUNT(*) FROM users), \',\', (SELECT COUNT(*) FROM orders))');
const running = async (stack: DbStack, ...services: string[]) =>
	(await execFileAsync('docker', ['inspect', '-f', '{{.State.Running}}', ...services.map(s => `${stack.project}-${s}-1`)])).stdout.trim().split('\n');



describe('database: MariaDB 10.11 with dbmate migrations, found by its image name', {timeout: 600_000}, () => {
	let stack: DbStack;
	let firstBackup: Record<string, any>;
	before(async () => {
		await ensureMysqlImages();
		stack = await createDbStack('mysql');
		await stack.deploy('v4.0.0');
		await stack.mysql("INSERT INTO users VALUES (1, 'a@example.test'), (2, 'b\\tb@example.test'), (3, 'c@example.test'); INSERT INTO orders VALUES (1, 1, 10), (2, 1, 20), (3, 2, 5), (4, 3, 7), (5, 3, 1)");
	});
	after(async () => stack?.down());

	test('found with no configuration; its migrations read from dbmate\'s schema_migrations', async () => {
		const r = await db(stack, ['db', '--json']);
		assert.ok(r.exitCode === 0 || r.exitCode === 1, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['found'].kind, 'mysql');
		assert.equal(out['found'].service, 'db');
		assert.match(out['found'].how, /its image \(local\/mariadb:10\.11\)/);
		assert.equal(out['found'].database, 'app');
		assert.equal(out['found'].user, 'app');
		assert.equal(out['migrations'].table, 'schema_migrations');
		assert.deepEqual(out['migrations'].applied.map((m: any) => m.version), ['20260101000001', '20260101000002']);
		assert.equal(out['migrations'].head, '20260101000002');
	});

	test('db backup streams a mysqldump out: 0600, sha256 and the head in backups.log', async () => {
		const r = await db(stack, ['db', 'backup', '--json']);
		assert.equal(r.exitCode, 0, r.stderr);
		const [entry] = await logLines(stack);
		firstBackup = entry!;
		assert.equal(entry!['engine'], 'mysql');
		assert.equal(entry!['migrationHead'], '20260101000002');
		assert.equal(entry!['release'], 'v4.0.0');
		assert.equal(entry!['format'], 'mysqldump --single-transaction');
		const bytes = await readFile(entry!['path']);
		assert.equal(createHash('sha256').update(bytes).digest('hex'), entry!['sha256']);
		assert.equal(entry!['bytes'], bytes.length);
		assert.equal((await stat(entry!['path'])).mode & 0o777, 0o600);
		const text = bytes.toString();
		assert.match(text, /CREATE TABLE `orders`/);
		assert.match(text, /INSERT INTO `schema_migrations` VALUES\s*\('20260101000001'\),\s*\('20260101000002'\)/);
		assert.match(text, /\n-- Dump completed on /);
		for (const key of ['time', 'project', 'release', 'migrationHead', 'bytes', 'sha256', 'path', 'durationMs']) assert.ok(key in entry!, key);
		const stats = JSON.parse(await readFile(`${entry!['path']}.json`, 'utf8'));
		assert.deepEqual(stats.rows, {orders: 5, schema_migrations: 2, users: 3});
	});

	test('an additive release: past the boundary, additive, by the target image\'s migrations and by releases.jsonl', async () => {
		await stack.deploy('v4.1.0');
		let r = await db(stack, ['db', '--json']);
		assert.equal(r.exitCode, 1, r.stderr);
		let out = json(r.stdout);
		assert.equal(out['target'].tag, 'v4.0.0');
		assert.equal(out['boundary'].rule, 'shipped');
		assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000003']);
		assert.equal(out['boundary'].verdict, 'additive');
		assert.deepEqual(out['boundary'].past[0].flagged, []);
		assert.equal(out['plan'].actions[0].kind, 'leave');

		await writeReleases(stack, [
			{tag: 'v4.0.0', event: 'verified', migrationHead: '20260101000002'},
			{tag: 'v4.1.0', event: 'deployed', migrationHead: null},
		]);
		r = await db(stack, ['db', '--json']);
		assert.equal(r.exitCode, 1, r.stderr);
		out = json(r.stdout);
		assert.equal(out['boundary'].rule, 'recorded');
		assert.equal(out['boundary'].targetHead, '20260101000002');
		assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000003']);
		assert.equal(out['boundary'].verdict, 'additive');
	});

	test('a destructive release: flagged with its line, with and without records', async () => {
		await stack.deploy('v4.2.0');
		for (const withRecords of [true, false]) {
			if (!withRecords) await rm(join(projectState(stack), 'releases.jsonl'));
			const r = await db(stack, ['db', '--json', '--to', 'v4.0.0']);
			assert.equal(r.exitCode, 1, r.stderr);
			const out = json(r.stdout);
			assert.equal(out['boundary'].rule, withRecords ? 'recorded' : 'shipped');
			assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000003', '20260201000004']);
			assert.equal(out['boundary'].verdict, 'destructive');
			assert.deepEqual(out['boundary'].past[1].flagged.map((f: any) => [f.line, f.rule]), [[4, 'DROP COLUMN']]);
			assert.ok(!out['plan'].actions.some((a: any) => a.kind === 'leave'), 'no "leave it" for a destructive schema');
		}
		const text = await db(stack, ['db', '--to', 'v4.0.0']);
		assert.match(text.stdout, /line 4: DROP COLUMN — ALTER TABLE orders DROP COLUMN total\s+\[heuristic\]/);
		assert.match(text.stdout, /statement by statement: MySQL cannot roll DDL back/, 'the plan says the restore is not one transaction');
	});

	test('wrong credentials: one line, exit 2, nothing changed', async () => {
		const before = await versions(stack);
		const logged = (await logLines(stack)).length;
		await writeFile(join(stack.dir, 'compose.override.yaml'), 'x-rollback-console:\n  database: {user: nobody}\n');
		try {
			for (const args of [['db'], ['db', 'backup'], ['db', 'restore', firstBackup['path'].split('/').at(-1), '--yes']]) {
				const r = await db(stack, args);
				assert.ok(r.exitCode === 2 || r.exitCode === 3, `${args.join(' ')}: exit ${r.exitCode}: ${r.stderr}`);
				assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line, got ${r.stderr}`);
				assert.match(oneLine(r.stderr), /the database in db refused user nobody on app: Access denied for user 'nobody'@'localhost'.*wrong credentials.*nothing was changed/);
			}
		} finally {
			await rm(join(stack.dir, 'compose.override.yaml'));
		}
		assert.equal(await versions(stack), before);
		assert.equal((await logLines(stack)).length, logged, 'no backup recorded');
		assert.deepEqual(await running(stack, 'app', 'db'), ['true', 'true'], 'the app was not stopped');
	});

	test('a backup cut short is refused before anything is touched', async () => {
		const text = await readFile(firstBackup['path'], 'utf8');
		// Up to the users table's data, without mysqldump's closing "-- Dump completed" line.
		await recordBackup(stack, firstBackup, 'cut-short.sql', text.slice(0, text.indexOf('INSERT INTO `users`')));
		const before = await versions(stack);
		const logged = (await logLines(stack)).length;
		const r = await db(stack, ['db', 'restore', 'cut-short.sql', '--yes']);
		assert.equal(r.exitCode, 2, r.stderr);
		assert.match(oneLine(r.stderr), /backup cut-short\.sql does not end with mysqldump's "Dump completed" line \(cut short\?\): refusing to restore it, nothing was touched/);
		assert.equal(await versions(stack), before);
		assert.equal(await columns(stack, 'orders'), 'id,user_id,amount_cents');
		assert.equal((await logLines(stack)).length, logged, 'not even a fresh backup');
		assert.deepEqual(await running(stack, 'app', 'db'), ['true', 'true'], 'the app was not stopped');
	});

	test('a restore that fails midway is said clearly: partly restored, the fresh backup named, exit 3', async () => {
		const text = await readFile(firstBackup['path'], 'utf8');
		// A statement the server refuses, after the tables were replaced: MySQL cannot undo them.
		await recordBackup(stack, firstBackup, 'fails-midway.sql', text.replace('INSERT INTO `users`', 'INSERT INTO `no_such_table`'));
		const r = await db(stack, ['db', 'restore', 'fails-midway.sql', '--yes']);
		assert.equal(r.exitCode, 3, r.stderr);
		assert.match(
			oneLine(r.stderr),
			/db restore failed: restore failed \(exit 1\): ERROR \d+ \(\w+\) at line \d+: Table '[\w.]*no_such_table' [^;]*; the database is PARTLY restored \(mysql commits each table's DDL on its own\); the fresh backup is (\S+\.sql); the app services stay stopped/,
		);
		const freshPath = /the fresh backup is (\S+\.sql);/.exec(oneLine(r.stderr))![1];
		const fresh = (await logLines(stack)).find(e => e['path'] === freshPath);
		assert.equal(fresh?.['migrationHead'], '20260201000004', 'the fresh backup holds the state before the restore');
		assert.match(fresh?.['reason'], /^before restoring .*fails-midway\.sql/);
		assert.equal(await stack.mysql("SELECT COUNT(*) FROM users"), '0', 'partly restored indeed: users was replaced, its rows not loaded');
		// With --json the failure is in the document and in the exit code alike.
		const j = await db(stack, ['db', 'restore', 'fails-midway.sql', '--yes', '--json']);
		assert.equal(j.exitCode, 3, j.stderr);
		assert.equal(json(j.stdout)['ok'], false);
		assert.match(json(j.stdout)['error'], /PARTLY restored/);
	});

	test('backup → destructive migration → restore brings back the row counts, the columns and the head; what came later goes', async () => {
		await stack.mysql('CREATE TABLE later (id int); CREATE VIEW later_view AS SELECT id FROM later');
		const r = await db(stack, ['db', 'restore', firstBackup['path'].split('/').at(-1), '--yes', '--json', '--tables', 'users,orders']);
		assert.equal(r.exitCode, 0, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['ok'], true, out['error']);
		assert.equal(await versions(stack), '20260101000001,20260101000002');
		assert.equal(await columns(stack, 'orders'), 'id,user_id,total');
		assert.equal(await columns(stack, 'users'), 'id,email');
		assert.equal(await counts(stack), '3,5');
		assert.equal(await stack.mysql('SELECT email FROM users WHERE id = 2'), 'b\\tb@example.test', 'the data itself, a tab included');
		assert.equal(await stack.mysql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'app' AND table_name IN ('later', 'later_view')"), '0');
		assert.deepEqual(out['data'].rows['orders'], {backup: 5, now: 5});
		assert.equal(out['data'].head, '20260101000002');
		assert.deepEqual(await running(stack, 'app', 'db'), ['false', 'true'], 'the app stopped, the database not');
	});
	test('db down runs exactly one step with dbmate over mysql://', async () => {
		await stack.deploy('v4.2.0'); // the restore left 001+002; v4.2.0 applies its 004 again
		assert.equal(await versions(stack), '20260101000001,20260101000002,20260201000004');
		const r = await db(stack, ['db', 'down', '--yes', '--to', 'v4.0.0']);
		assert.equal(r.exitCode, 0, r.stderr);
		assert.equal(await versions(stack), '20260101000001,20260101000002', 'one step (004), not two');
		assert.equal(await columns(stack, 'orders'), 'id,user_id,total', "004's down section ran");
		assert.equal(await counts(stack), '3,5');
	});

	test('one line and exit 2 each: no migrations table (what was looked for), the database not running', async () => {
		await stack.mysql('RENAME TABLE schema_migrations TO old_migrations');
		const none = await db(stack, ['db']);
		await stack.mysql('RENAME TABLE old_migrations TO schema_migrations');
		assert.equal(none.exitCode, 2, none.stderr);
		assert.match(oneLine(none.stderr), /no migrations table found in mysql database app \(service db\): looked for schema_migrations, alembic_version, _prisma_migrations/);

		await stack.compose(['stop', 'db']);
		const down = await db(stack, ['db', 'backup']);
		await stack.compose(['up', '-d', '--wait', 'db']);
		assert.equal(down.exitCode, 2, down.stderr);
		assert.match(oneLine(down.stderr), /the database service db is not running .*start it \(docker compose up -d db\)/);
	});
});

describe('database: an oddly named MariaDB (service store, image acme/db:10.11), found by its environment', {timeout: 300_000}, () => {
	let stack: DbStack;
	before(async () => {
		await ensureMysqlImages();
		stack = await createDbStack('mysql', {odd: 'environment'});
		await stack.deploy('v4.1.0');
	});
	after(async () => stack?.down());

	test('found with no configuration, credentials from MYSQL_*; the additive migration past the target', async () => {
		const r = await db(stack, ['db', '--json', '--to', 'v4.0.0']);
		assert.equal(r.exitCode, 1, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['found'].kind, 'mysql');
		assert.equal(out['found'].service, 'store');
		assert.match(out['found'].how, /environment/);
		assert.equal(out['found'].database, 'app');
		assert.equal(out['found'].user, 'app');
		assert.equal(out['migrations'].head, '20260201000003');
		assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000003']);
		assert.equal(out['boundary'].verdict, 'additive');
		const b = await db(stack, ['db', 'backup']);
		assert.equal(b.exitCode, 0, b.stderr);
		assert.match(b.stdout, /Backed up to .*\.sql: .* sha256 [0-9a-f]{64}, head 20260201000003/);
	});
});

describe('database: a MariaDB with no telling name, environment or healthcheck (service warehouse, acme/dbbin), found by its binaries', {timeout: 300_000}, () => {
	let stack: DbStack;
	before(async () => {
		await ensureMysqlImages();
		stack = await createDbStack('mysql', {odd: 'binaries'});
		await stack.deploy('v4.0.0');
	});
	after(async () => stack?.down());

	test('found with no configuration; root by its unix socket; the database is the one with a migrations table', async () => {
		const r = await db(stack, ['db', '--json']);
		assert.ok(r.exitCode === 0 || r.exitCode === 1, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['found'].kind, 'mysql');
		assert.equal(out['found'].service, 'warehouse');
		assert.equal(out['found'].how, 'the mysqld binary in its container');
		assert.equal(out['found'].user, 'root');
		assert.equal(out['found'].database, 'app', 'no MYSQL_DATABASE: the database that has schema_migrations');
		assert.equal(out['migrations'].head, '20260101000002');
		const b = await db(stack, ['db', 'backup']);
		assert.equal(b.exitCode, 0, b.stderr);
		const [entry] = await logLines(stack);
		assert.equal(entry!['database'], 'app');
		assert.match(await readFile(entry!['path'], 'utf8'), /CREATE TABLE `schema_migrations`/);
	});
});
