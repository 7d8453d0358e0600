// The Database step against a real PostgreSQL 15 (built offline from Debian's packages), with
// migrations applied by a real tool (dbmate) when each release starts. SQLite: database-sqlite.test.ts.
import assert from 'node:assert/strict';
import {execFile, spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {promisify} from 'node:util';
import {oneLine, runCli, CLI} from '../support/cli.js';
import {backupsDir, createDbStack, ensureDbImages, logLines, projectState, writeReleases, type DbStack} from '../support/database-stack.js';

const execFileAsync = promisify(execFile);

const db = (stack: DbStack, args: string[], env: NodeJS.ProcessEnv = {}) =>
	runCli([...args, '--state-dir', stack.stateDir], {cwd: stack.dir, env: {COMPOSE_PROJECT_NAME: stack.project, IMAGE_TAG: '', ...env}, timeoutMs: 120_000});

const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;


describe('database: PostgreSQL 15 with dbmate migrations', {timeout: 600_000}, () => {
	let stack: DbStack;
	let firstBackup: Record<string, any>;
	before(async () => {
		await ensureDbImages();
		stack = await createDbStack('postgres');
		await stack.deploy('v2.0.0');
		await stack.psql("INSERT INTO users VALUES (1, 'a@example.test'), (2, 'b@example.test'), (3, 'c@example.test'); INSERT INTO orders VALUES (1, 1, 10), (2, 1, 20), (3, 2, 5), (4, 3, 7), (5, 3, 1)");
	});
	after(async () => stack?.down());

	test('db backup streams a pg_dump out: 0600, sha256 recorded in backups.log with the head', async () => {
		const r = await db(stack, ['db', 'backup', '--json']);
		assert.equal(r.exitCode, 0, r.stderr);
		const [entry] = await logLines(stack);
		firstBackup = entry!;
		assert.equal(entry!['migrationHead'], '20260101000002');
		assert.equal(entry!['release'], 'v2.0.0');
		const bytes = await readFile(entry!['path']);
		assert.equal(bytes.subarray(0, 5).toString(), 'PGDMP', 'a pg_dump custom-format file');
		const {createHash} = await import('node:crypto');
		assert.equal(createHash('sha256').update(bytes).digest('hex'), entry!['sha256']);
		const {stat} = await import('node:fs/promises');
		assert.equal((await stat(entry!['path'])).mode & 0o777, 0o600);
		for (const key of ['time', 'project', 'release', 'migrationHead', 'bytes', 'sha256', 'path', 'durationMs']) assert.ok(key in entry!, key);
	});

	test('an additive migration past the boundary, without releases.jsonl: the rule is the target image\'s migrations', async () => {
		await stack.deploy('v2.1.0');
		const r = await db(stack, ['db', '--json']);
		assert.equal(r.exitCode, 1, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['found'].kind, 'postgres');
		assert.equal(out['target'].tag, 'v2.0.0');
		assert.equal(out['boundary'].rule, 'shipped');
		assert.equal(out['targetShipped'].dir, '/app/migrations');
		assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000003']);
		assert.equal(out['boundary'].verdict, 'additive');
		assert.deepEqual(out['boundary'].past[0].flagged, []);
		assert.ok(out['plan'].actions.some((a: any) => a.kind === 'leave'), 'leaving the additive schema is offered first');
		assert.equal(out['plan'].actions[0].kind, 'leave');
	});

	test('with releases.jsonl records: the recorded head is the boundary, and the rule says so', async () => {
		await writeReleases(stack, [
			{tag: 'v2.0.0', event: 'verified', migrationHead: '20260101000002'},
			{tag: 'v2.1.0', event: 'deployed', migrationHead: null},
		]);
		const r = await db(stack, ['db', '--json']);
		assert.equal(r.exitCode, 1, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['boundary'].rule, 'recorded');
		assert.match(out['boundary'].ruleText, /releases\.jsonl/);
		assert.equal(out['boundary'].targetHead, '20260101000002');
		assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000003']);
		assert.equal(out['target'].how, 'last-known-good');
	});

	test('a destructive migration is flagged with its line, with and without records', async () => {
		await stack.deploy('v2.2.0');
		for (const withRecords of [true, false]) {
			if (!withRecords) await rm(join(projectState(stack), 'releases.jsonl'));
			const r = await db(stack, ['db', '--json', '--to', 'v2.0.0']);
			assert.equal(r.exitCode, 1, r.stderr);
			const out = json(r.stdout);
			assert.equal(out['boundary'].rule, withRecords ? 'recorded' : 'shipped');
			assert.deepEqual(out['boundary'].past.map((p: any) => p.version), ['20260201000003', '20260201000004']);
			assert.equal(out['boundary'].verdict, 'destructive');
			const drop = out['boundary'].past[1];
			assert.equal(drop.file, '20260201000004_drop_orders_total.sql');
			assert.deepEqual(drop.flagged.map((f: any) => [f.line, f.rule]), [[4, 'DROP COLUMN']]);
			assert.ok(!out['plan'].actions.some((a: any) => a.kind === 'leave'), 'no "leave it" for a destructive schema');
		}
		const text = await db(stack, ['db', '--to', 'v2.0.0']);
		assert.match(text.stdout, /line 4: DROP COLUMN — ALTER TABLE orders DROP COLUMN total\s+\[heuristic\]/);
	});

	test('a corrupted backup is refused with one line, nothing touched', async () => {
		const copy = join(backupsDir(stack), 'corrupt.dump');
		const good = await readFile(firstBackup['path']);
		const bad = Buffer.from(good);
		bad[bad.length - 10] = bad[bad.length - 10]! ^ 0xff;
		await writeFile(copy, bad, {mode: 0o600});
		const entry = {...firstBackup, path: copy, time: new Date().toISOString()};
		await writeFile(join(backupsDir(stack), 'backups.log'), `${(await readFile(join(backupsDir(stack), 'backups.log'), 'utf8'))}${JSON.stringify(entry)}\n`);
		const before = await stack.psql('SELECT version FROM schema_migrations ORDER BY 1');
		const r = await db(stack, ['db', 'restore', 'corrupt.dump', '--yes']);
		assert.equal(r.exitCode, 2);
		assert.match(oneLine(r.stderr), /backup corrupt\.dump is corrupted: its sha256 is .*backups\.log recorded .*nothing was touched/);
		assert.equal(await stack.psql('SELECT version FROM schema_migrations ORDER BY 1'), before);
		const {stdout} = await execFileAsync('docker', ['inspect', '-f', '{{.State.Running}}', `${stack.project}-app-1`]);
		assert.equal(stdout.trim(), 'true', 'the app was not stopped');
	});

	test('backup → destructive migration → restore brings back the row counts, the columns and the head', async () => {
		const r = await db(stack, ['db', 'restore', firstBackup['path'].split('/').at(-1), '--yes', '--json', '--tables', 'users,orders']);
		assert.equal(r.exitCode, 0, r.stderr);
		const out = json(r.stdout);
		assert.equal(out['ok'], true);
		assert.equal(await stack.psql("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations"), '20260101000001,20260101000002');
		assert.equal(await stack.psql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'orders'"), 'id,user_id,total');
		assert.equal(await stack.psql('SELECT (SELECT count(*) FROM users) || \',\' || (SELECT count(*) FROM orders)'), '3,5');
		assert.deepEqual(out['data'].rows['public.orders'], {backup: 5, now: 5});
		// A fresh backup of the destructive state was taken first; the app was stopped, the database not.
		const entries = await logLines(stack);
		assert.ok(entries.some(e => e['reason'].startsWith('before restoring') && e['migrationHead'] === '20260201000004'));
		const {stdout} = await execFileAsync('docker', ['inspect', '-f', '{{.State.Running}}', `${stack.project}-app-1`, `${stack.project}-db-1`]);
		assert.deepEqual(stdout.trim().split('\n'), ['false', 'true']);
		const timeline = await readdir(join(projectState(stack), 'incidents'));
		const events = (await readFile(join(projectState(stack), 'incidents', timeline[0]!, 'timeline.jsonl'), 'utf8')).split('\n').filter(Boolean).map(l => JSON.parse(l));
		assert.ok(events.some(e => e.type === 'action_result' && e.data.action.startsWith('restore:') && e.data.ok));
	});

	test('db down runs exactly one step, and a second needs a new confirmation', async () => {
		await stack.deploy('v2.2.0'); // the restore left 001+002; v2.2.0 applies its 004 again
		const versions = () => stack.psql("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations");
		assert.equal(await versions(), '20260101000001,20260101000002,20260201000004');
		const refused = await db(stack, ['db', 'down']);
		assert.equal(refused.exitCode, 2);
		assert.match(oneLine(refused.stderr), /db down refused: no terminal to confirm on; pass --yes/);
		const r = await db(stack, ['db', 'down', '--yes']);
		assert.equal(r.exitCode, 0, r.stderr);
		assert.equal(await versions(), '20260101000001,20260101000002', 'one step (004), not two');
		assert.equal(await stack.psql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'orders'"), 'id,user_id,total', "004's down section ran");
		// The same confirmed action again (the console pressing enter twice): refused, nothing run.
		const {gatherDatabase} = await import('../../source/incident/database/gather.js');
		const {downAction} = await import('../../source/incident/database/plan.js');
		const {runDatabaseAction} = await import('../../source/incident/database/run.js');
		const {connectDatabase} = await import('../../source/console/database-model.js');
		const facts = await gatherDatabase(connectDatabase(), {workingDir: stack.dir, files: [join(stack.dir, 'compose.yaml')], name: stack.project}, stack.stateDir, {to: 'v2.0.0'});
		const action = downAction(facts)!;
		assert.equal(action.expectHead, '20260101000002');
		const first = await runDatabaseAction(facts, action, new AbortController().signal, {skipFreshBackup: true});
		assert.equal(first.ok, true, first.error ?? '');
		await assert.rejects(runDatabaseAction(facts, action, new AbortController().signal, {skipFreshBackup: true}), /refusing another step down: the head is 20260101000001 now, not 20260101000002 as confirmed/);
		assert.equal(await versions(), '20260101000001');
		// Put the schema back for the tests after this one.
		await stack.deploy('v2.0.0');
	});

	test('a dump killed midway is not recorded', async () => {
		const before = (await logLines(stack)).length;
		// Enough data that the dump takes a while, so the kill lands while it streams.
		await stack.psql("CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS pad FROM generate_series(1, 600000) g");
		const child = spawn(process.execPath, [CLI, 'db', 'backup', '--state-dir', stack.stateDir], {cwd: stack.dir, env: {...process.env, COMPOSE_PROJECT_NAME: stack.project}, stdio: 'ignore'});
		const {stat} = await import('node:fs/promises');
		const partialBytes = async () => {
			const f = (await readdir(backupsDir(stack))).find(x => x.endsWith('.partial'));
			return f ? (await stat(join(backupsDir(stack), f))).size : 0;
		};
		for (let i = 0; i < 600 && (await partialBytes()) === 0; i++) await new Promise(r => setTimeout(r, 20));
		assert.ok((await partialBytes()) > 0, 'the dump was streaming');
		child.kill('SIGKILL');
		await new Promise(r => child.once('exit', r));
		await stack.psql('DROP TABLE big');
		assert.equal((await logLines(stack)).length, before, 'backups.log has no entry for it');
		const files = await readdir(backupsDir(stack));
		const listed = new Set((await logLines(stack)).map(e => e['path'].split('/').at(-1)));
		assert.deepEqual(files.filter(f => f.endsWith('.dump') && !listed.has(f)), [], 'no finished-looking dump file that is not in the log');
	});

	test('one line and exit 2 each: wrong credentials, no migrations table, the database not running', async () => {
		await writeFile(join(stack.dir, 'compose.override.yaml'), 'x-rollback-console:\n  database: {user: nobody}\n');
		const creds = await db(stack, ['db']);
		await rm(join(stack.dir, 'compose.override.yaml'));
		assert.equal(creds.exitCode, 2);
		assert.match(oneLine(creds.stderr), /the database in db refused user nobody on app: .*role "nobody" does not exist.*wrong credentials/);

		await stack.psql('ALTER TABLE schema_migrations RENAME TO old_migrations');
		const none = await db(stack, ['db']);
		await stack.psql('ALTER TABLE old_migrations RENAME TO schema_migrations');
		assert.equal(none.exitCode, 2);
		assert.match(oneLine(none.stderr), /no migrations table found in postgres database app \(service db\): looked for schema_migrations, alembic_version, _prisma_migrations, knex_migrations, goose_db_version, flyway_schema_history, django_migrations, __drizzle_migrations/);

		await stack.compose(['stop', 'db']);
		const down = await db(stack, ['db']);
		await stack.compose(['up', '-d', '--wait', 'db']);
		assert.equal(down.exitCode, 2);
		assert.match(oneLine(down.stderr), /the database service db is not running .*start it \(docker compose up -d db\)/);
	});

	test('a disk too full for the dump is said before starting, nothing written', async t => {
		if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs');
		const small = join(stack.dir, 'small');
		await mkdir(small);
		await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
		try {
			const r = await runCli(['db', 'backup', '--state-dir', small], {cwd: stack.dir, env: {COMPOSE_PROJECT_NAME: stack.project}, timeoutMs: 60_000});
			assert.equal(r.exitCode, 2, r.stderr);
			assert.match(oneLine(r.stderr), /not enough disk for the backup: .* free in .*, the postgres database is .*nothing was written/);
			const dir = join(small, stack.project, 'backups');
			assert.deepEqual(existsSync(dir) ? await readdir(dir) : [], []);
		} finally {
			await execFileAsync('umount', [small]);
		}
	});

	test('the target image gone from the box and the registry: one line, exit 2', async () => {
		const r = await db(stack, ['db', '--to', 'v9.9.9']);
		assert.equal(r.exitCode, 2);
		assert.match(oneLine(r.stderr), /the target image 127\.0\.0\.1:5000\/rct\/dbapp:v9\.9\.9 is gone from this box and from its registry/);
	});
});

describe('database: deploy preflight', {timeout: 300_000}, () => {
	let stack: DbStack;
	before(async () => {
		await ensureDbImages();
		stack = await createDbStack('postgres');
		await stack.deploy('v2.0.0');
		await stack.psql("INSERT INTO users VALUES (1, 'a@example.test')");
	});
	after(async () => stack?.down());

	const deploy = (tag: string, extra: string[] = []) =>
		runCli(['deploy', '--to', tag, '--yes', '--state-dir', stack.stateDir, ...extra], {cwd: stack.dir, env: {COMPOSE_PROJECT_NAME: stack.project, IMAGE_TAG: ''}, timeoutMs: 180_000});

	test('a destructive release stops before changing anything unless acknowledged by name; the preflight event holds every field', async () => {
		const refused = await deploy('v2.2.0');
		assert.equal(refused.exitCode, 2, refused.stderr);
		assert.match(oneLine(refused.stderr), /deploy refused: v2\.2\.0 applies a destructive migration \(20260201000004_drop_orders_total\.sql line 4: DROP COLUMN, heuristic\); acknowledge it with --accept-destructive \(--yes alone is not enough\); nothing was changed/);
		assert.equal(await stack.psql('SELECT max(version) FROM schema_migrations'), '20260101000002', 'nothing migrated');
		assert.match(await readFile(join(stack.dir, '.env'), 'utf8'), /IMAGE_TAG=v2\.0\.0/);
		assert.equal(existsSync(join(backupsDir(stack), 'backups.log')), false, 'no backup taken for a refused deploy');

		const r = await deploy('v2.2.0', ['--accept-destructive']);
		assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
		assert.equal(await stack.psql('SELECT max(version) FROM schema_migrations'), '20260201000004');
		const events = (await readFile(join(projectState(stack), 'deploys', 'timeline.jsonl'), 'utf8')).split('\n').filter(Boolean).map(l => JSON.parse(l));
		const pre = events.filter(e => e.type === 'preflight');
		assert.equal(pre.length, 1, 'one preflight event');
		const d = pre[0].data;
		assert.equal(d.release.tag, 'v2.0.0');
		assert.ok(Object.keys(d.release.digests).includes('app'));
		assert.match(d.release.revision, /^[0-9a-f]{40}$/, 'the running image\'s org.opencontainers.image.revision');
		assert.match(d.backup.path, /\.dump$/);
		assert.match(d.backup.sha256, /^[0-9a-f]{64}$/);
		assert.equal(d.backup.migrationHead, '20260101000002');
		assert.deepEqual(d.migrations.map((m: any) => m.file), ['20260201000004_drop_orders_total.sql']);
		assert.deepEqual(d.destructive.map((x: any) => [x.line, x.rule]), [[4, 'DROP COLUMN']]);
		assert.equal(d.acknowledged, '--accept-destructive');
		assert.equal(typeof d.disk.free, 'number');
		assert.ok('dumpEstimate' in d.disk && 'imagesToPull' in d.disk);
		assert.ok(Array.isArray(d.health));
		assert.ok(events.findIndex(e => e.type === 'preflight') < events.findIndex(e => e.type === 'deploy_start'), 'recorded before the deploy changed anything');
		// releases.jsonl records the migration head of the verified release (the boundary's rule (a)).
		const releases = (await readFile(join(projectState(stack), 'releases.jsonl'), 'utf8')).split('\n').filter(Boolean).map(l => JSON.parse(l));
		assert.equal(releases.findLast(x => x.event === 'verified' && x.tag === 'v2.2.0')?.migrationHead, '20260201000004');
	});

	test('--no-backup skips the backup, on the record', async () => {
		const r = await deploy('v2.0.0', ['--no-backup']);
		assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
		const events = (await readFile(join(projectState(stack), 'deploys', 'timeline.jsonl'), 'utf8')).split('\n').filter(Boolean).map(l => JSON.parse(l));
		assert.deepEqual(events.filter(e => e.type === 'preflight').at(-1).data.backup, {skipped: '--no-backup'});
	});
});
