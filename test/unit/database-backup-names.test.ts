// Two backups that start in the same instant (a restore's fresh backup beside a `db backup`)
// must both stay what backups.log says they are: a finished dump never replaces another file.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import type {DatabaseEngine} from '../../source/engine/database-types.js';
import {DatabaseClient} from '../../source/incident/database/client.js';
import {listBackups, takeBackup} from '../../source/incident/database/backups.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-backup-names-'));
after(() => rmSync(dir, {recursive: true, force: true}));

/** A PostgreSQL whose dump is `text` and whose every query answers nothing. */
function client(text: string): DatabaseClient {
	const engine = {
		exec: async () => ({exitCode: 0, stdout: '', stderr: ''}),
		execToSink: async (_id: string, _argv: string[], sink: NodeJS.WritableStream) => {
			sink.write(text);
			return {exitCode: 0, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex'), stderr: ''};
		},
	} as unknown as DatabaseEngine;
	const container = {id: 'c1', name: 'shop-db-1', service: 'db', running: true, image: 'postgres:15', imageId: 'sha256:1', env: {}, healthcheck: [], mounts: [], createdAt: '', startedAt: null};
	return new DatabaseClient({kind: 'postgres', service: 'db', container, database: 'app', user: 'app', file: null, how: 'test'}, engine);
}

test('two backups in the same millisecond: the second is refused, the first keeps its bytes', async () => {
	const now = () => Date.UTC(2026, 10, 27, 3, 12, 9, 123);
	const first = await takeBackup({client: client('first dump'), dir, project: 'shop', release: 'v1.4.0', reason: 'test', now});
	await assert.rejects(takeBackup({client: client('second dump'), dir, project: 'shop', release: 'v1.4.0', reason: 'test', now}), /a backup named .* is there already: nothing recorded, nothing replaced/);
	assert.equal(readFileSync(first.path, 'utf8'), 'first dump');
	const listed = await listBackups(dir);
	assert.equal(listed.length, 1, 'only the first is recorded');
	assert.equal(listed[0]!.sha256, createHash('sha256').update('first dump').digest('hex'));
	assert.deepEqual(readdirSync(dir).filter(f => f.endsWith('.partial')), [], 'no partial left behind');
});

test('a second later (or a millisecond): its own name, both recorded and intact', async () => {
	const a = await takeBackup({client: client('a'), dir, project: 'shop2', release: null, reason: 'test', now: () => 1_790_000_000_000});
	const b = await takeBackup({client: client('b'), dir, project: 'shop2', release: null, reason: 'test', now: () => 1_790_000_000_001});
	assert.notEqual(a.path, b.path);
	assert.equal(readFileSync(a.path, 'utf8'), 'a');
	assert.equal(readFileSync(b.path, 'utf8'), 'b');
});
