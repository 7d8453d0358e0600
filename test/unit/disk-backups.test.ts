import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {removeBackupFiles, type BackupEntry} from '../../source/incident/database/backups.js';
import {planBackups} from '../../source/incident/disk/plan-backups.js';

const now = Date.parse('2026-11-27T12:00:00Z');
const entry = (name: string, time: string, present = true): BackupEntry & {present: boolean} => ({
	time,
	project: 'shop',
	release: 'v1.3.9',
	migrationHead: '20260101000002',
	bytes: 1000,
	sha256: 'ab'.repeat(32),
	path: `/state/shop/backups/${name}`,
	durationMs: 10,
	engine: 'postgres',
	database: 'app',
	format: 'custom',
	reason: 'db backup',
	present,
});

test('backups older than the retention are offered, each on its own typed confirmation; newer ones and missing files are not', () => {
	const {actions, notes} = planBackups(
		{
			backups: {
				dir: '/state/shop/backups',
				retainDays: 7,
				entries: [
					entry('shop-20261101-v1.3.8.dump', '2026-11-01T00:00:00Z'),
					entry('shop-20261110-gone.dump', '2026-11-10T00:00:00Z', false),
					entry('shop-20261125-v1.3.9.dump', '2026-11-25T00:00:00Z'),
				],
			},
		},
		now,
	);
	assert.deepEqual(actions.map(a => [a.kind, a.name, a.safe, a.typed]), [['remove-backup', 'shop-20261101-v1.3.8.dump', false, 'shop-2026110']]);
	assert.match(actions[0]!.detail, /older than 7 days/);
	assert.deepEqual(notes, ['1 database backup within 7 days kept (/state/shop/backups)']);
	assert.deepEqual(planBackups({backups: null}, now), {actions: [], notes: []});
});

test('removing a backup takes its dump and row counts, and nothing outside the backup directory', async () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-backups-'));
	try {
		const dump = path.join(dir, 'shop.dump');
		writeFileSync(dump, 'x');
		writeFileSync(`${dump}.json`, '{}');
		await assert.rejects(removeBackupFiles(dump, path.join(dir, 'elsewhere')), /is not in the backup directory/);
		assert.ok(existsSync(dump), 'refused: still there');
		await removeBackupFiles(dump, dir);
		assert.ok(!existsSync(dump) && !existsSync(`${dump}.json`));
	} finally {
		rmSync(dir, {recursive: true, force: true});
	}
});
