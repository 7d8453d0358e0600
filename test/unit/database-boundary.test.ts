import assert from 'node:assert/strict';
import {test} from 'node:test';
import {findBoundary, verdictLine} from '../../source/incident/database/boundary.js';
import {migrationQuery, orderMigrations} from '../../source/incident/database/migration-tables.js';
import {keysFor, shippedMigrations} from '../../source/incident/database/shipped-migrations.js';
import {flagStatements, splitStatements, upSection} from '../../source/incident/database/sql-heuristic.js';
import type {ReleaseRecord} from '../../source/incident/stabilise/releases.js';

test('flags what is not additive, with the line each statement starts on', () => {
	const sql = [
		'CREATE TABLE a (id int);', // 1
		'ALTER TABLE a ADD COLUMN b text;', // 2
		'ALTER TABLE a', // 3
		'  DROP COLUMN b;', // 4
		"INSERT INTO a VALUES (';DROP TABLE x;');", // 5
		'ALTER TABLE a RENAME TO z;', // 6
		'ALTER TABLE z ALTER COLUMN id TYPE bigint;', // 7
		'TRUNCATE z;', // 8
		'DELETE FROM z WHERE id = 1;', // 9
		'ALTER TABLE z ALTER COLUMN id SET NOT NULL;', // 10
		'ALTER TABLE z ADD COLUMN c int NOT NULL;', // 11
		'ALTER TABLE z ADD COLUMN d int NOT NULL DEFAULT 0;', // 12
		'-- DROP TABLE z;', // 13
		'DROP TABLE z;', // 14
		'ALTER TABLE z DROP CONSTRAINT z_pkey;', // 15
	].join('\n');
	assert.deepEqual(
		flagStatements(sql).map(f => [f.line, f.rule]),
		[
			[3, 'DROP COLUMN'],
			[6, 'RENAME'],
			[7, 'ALTER … TYPE'],
			[8, 'TRUNCATE'],
			[9, 'DELETE'],
			[10, 'SET NOT NULL'],
			[11, 'NOT NULL without a default'],
			[14, 'DROP TABLE'],
		],
	);
});

test('dollar-quoted bodies and comments do not split statements', () => {
	const parts = splitStatements("CREATE FUNCTION f() RETURNS int AS $$ BEGIN; DELETE FROM t; END $$ LANGUAGE plpgsql;\n/* ; */ SELECT 1;");
	assert.equal(parts.length, 2);
	assert.equal(parts[1]!.line, 2);
});

test("dbmate's down section is not part of the migration's SQL, and lines stay the file's", () => {
	const text = '-- migrate:up\nALTER TABLE a ADD COLUMN b int;\n\n-- migrate:down\nALTER TABLE a DROP COLUMN b;\n';
	assert.deepEqual(flagStatements(upSection('x.sql', text)!), []);
	assert.equal(upSection('1_x.down.sql', text), null);
});

test('the names a migration file may be recorded under', () => {
	assert.ok(keysFor('20260101000001_users.sql', '').includes('20260101000001'));
	assert.ok(keysFor('0003_add.up.sql', '').includes('3'), 'golang-migrate records the number');
	assert.ok(keysFor('20260101_init/migration.sql', '').includes('20260101_init'), 'prisma: the folder');
	assert.ok(keysFor('versions/ab12_add.py', "revision = 'ab12cd'\n").includes('ab12cd'), 'alembic: the revision');
	assert.ok(keysFor('shop/migrations/0002_add.py', '').includes('shop.0002_add'), 'django: app.name');
});

test('the migrations query adapts to the columns a tool keeps', () => {
	assert.equal(migrationQuery('schema_migrations', ['version'])!.sql, 'SELECT "version", NULL FROM "schema_migrations"');
	assert.match(migrationQuery('schema_migrations', ['version', 'dirty'])!.sql, /WHERE NOT "dirty"/);
	assert.match(migrationQuery('_prisma_migrations', ['id', 'migration_name', 'finished_at', 'rolled_back_at'])!.sql, /"migration_name", CAST\("finished_at" AS TEXT\).*rolled_back_at" IS NULL/);
	assert.match(migrationQuery('knex_migrations', ['id', 'name', 'batch', 'migration_time'])!.sql, /"name", CAST\("migration_time"/);
	assert.equal(migrationQuery('weird', ['x']), null);
	assert.deepEqual(orderMigrations([{version: '10', appliedAt: null}, {version: '9', appliedAt: null}]).map(m => m.version), ['9', '10']);
});

const applied = [
	{version: '1', appliedAt: '2026-11-01T00:00:00.000Z'},
	{version: '2', appliedAt: '2026-11-02T00:00:00.000Z'},
	{version: '3', appliedAt: '2026-11-22T03:00:00.000Z'},
];
const files = (...names: Array<[string, string]>) => shippedMigrations(names.map(([path, text]) => ({path, size: text.length, text})));
const target = files(['1_a.sql', 'CREATE TABLE a (id int);'], ['2_b.sql', 'CREATE TABLE b (id int);']);
const additive = files(['1_a.sql', ''], ['2_b.sql', ''], ['3_c.sql', 'ALTER TABLE a ADD COLUMN c int;']);
const destructive = files(['1_a.sql', ''], ['2_b.sql', ''], ['3_c.sql', 'ALTER TABLE b DROP COLUMN id;']);
const record = (tag: string, event: ReleaseRecord['event'], head: string | null, time: string): ReleaseRecord => ({time, event, tag, digests: {}, imageIds: {}, migrationHead: head, operator: null});

test('boundary rules in order: recorded head, shipped migrations, times (a guess), none', () => {
	const recorded = findBoundary({applied, targetTag: 'v1', records: [record('v1', 'verified', '2', '2026-11-02T01:00:00Z')], targetShipped: null, currentShipped: additive, targetReplacedAt: null});
	assert.equal(recorded.rule, 'recorded');
	assert.deepEqual(recorded.past.map(p => p.version), ['3']);
	assert.equal(recorded.verdict, 'additive');

	const shipped = findBoundary({applied, targetTag: 'v1', records: [], targetShipped: target, currentShipped: destructive, targetReplacedAt: null});
	assert.equal(shipped.rule, 'shipped');
	assert.equal(shipped.verdict, 'destructive');
	assert.deepEqual(shipped.past[0]!.flagged!.map(f => [f.line, f.rule]), [[1, 'DROP COLUMN']]);
	assert.match(verdictLine(shipped, 'v1'), /DESTRUCTIVE \(heuristic\)/);

	const stale = findBoundary({applied, targetTag: 'v1', records: [record('v1', 'verified', '9', '2026-11-02T01:00:00Z')], targetShipped: target, currentShipped: null, targetReplacedAt: null});
	assert.equal(stale.rule, 'shipped', 'a recorded head that is not in the table falls through');
	assert.equal(stale.verdict, 'unknown', 'no SQL to read');

	const times = findBoundary({applied, targetTag: 'v1', records: [], targetShipped: null, currentShipped: additive, targetReplacedAt: '2026-11-10T00:00:00Z'});
	assert.equal(times.rule, 'times');
	assert.match(times.ruleText, /a guess/);
	assert.deepEqual(times.past.map(p => p.version), ['3']);

	const none = findBoundary({applied, targetTag: 'v1', records: [], targetShipped: null, currentShipped: null, targetReplacedAt: null});
	assert.equal(none.rule, 'none');
	assert.equal(none.verdict, 'unknown');
});
