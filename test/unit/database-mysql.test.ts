// MySQL's dialect of the migration-table queries and of the client's batch output. (The real
// server is in test/integration/database-mysql.test.ts; these are the cases its dbmate table
// does not reach: other tools' time and name columns.)
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {migrationQuery} from '../../source/incident/database/migration-tables.js';
import {unescapeBatchField} from '../../source/incident/database/mysql.js';

test('MySQL migration queries: backticks, CAST AS CHAR, CONCAT (|| is OR there)', () => {
	assert.equal(migrationQuery('knex_migrations', ['id', 'name', 'batch', 'migration_time'], undefined, 'mysql')!.sql, 'SELECT `name`, CAST(`migration_time` AS CHAR) FROM `knex_migrations`');
	assert.match(migrationQuery('django_migrations', ['id', 'app', 'name', 'applied'], undefined, 'mysql')!.sql, /^SELECT CONCAT\(`app`, '\.', `name`\), CAST\(`applied` AS CHAR\)/);
	assert.match(migrationQuery('schema_migrations', ['version', 'dirty'], undefined, 'mysql')!.sql, /WHERE NOT `dirty`$/);
	assert.match(migrationQuery('_prisma_migrations', ['migration_name', 'finished_at', 'rolled_back_at'], undefined, 'mysql')!.sql, /`finished_at` IS NOT NULL AND `rolled_back_at` IS NULL/);
	assert.doesNotMatch(migrationQuery('flyway_schema_history', ['version', 'script', 'installed_on', 'success'], undefined, 'mysql')!.sql, /"/);
});

test('the batch output of mysql -N -B: its escapes undone', () => {
	assert.equal(unescapeBatchField('a\\tb\\nc\\\\d'), 'a\tb\nc\\d');
	assert.equal(unescapeBatchField('20260101000001'), '20260101000001');
	assert.equal(unescapeBatchField('x\\0y'), 'x\0y');
});
