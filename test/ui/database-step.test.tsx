import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import {findBoundary} from '../../source/incident/database/boundary.js';
import type {DatabaseFacts} from '../../source/incident/database/gather.js';
import {planDatabase, type DatabaseAction} from '../../source/incident/database/plan.js';
import {shippedMigrations} from '../../source/incident/database/shipped-migrations.js';
import {runAction} from '../../source/incident/step-kit.js';
import {App} from '../../source/ui/app.js';
import {fakeModel, frameWhere, serviceRow, type FakeModel} from '../support/fake-model.js';

const size = {columns: 100, rows: 40};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const applied = [
	{version: '20260101000001', appliedAt: '2026-11-01T10:00:00.000Z'},
	{version: '20260101000002', appliedAt: '2026-11-01T10:00:01.000Z'},
	{version: '20260201000004', appliedAt: '2026-11-22T03:10:00.000Z'},
];
const file = (path: string, text: string) => ({path, size: text.length, text});
const v1 = [file('20260101000001_users.sql', '-- migrate:up\nCREATE TABLE users (id int);\n'), file('20260101000002_orders.sql', '-- migrate:up\nCREATE TABLE orders (id int, total int);\n')];
const bad = [...v1, file('20260201000004_drop.sql', '-- migrate:up\nALTER TABLE orders ADD COLUMN cents int DEFAULT 0;\nALTER TABLE orders\n  DROP COLUMN total;\n-- migrate:down\n')];

function facts(): DatabaseFacts {
	const boundary = findBoundary({applied, targetTag: 'v1.3.9', records: [], targetShipped: shippedMigrations(v1), currentShipped: shippedMigrations(bad), targetReplacedAt: null});
	return {
		project: 'shop',
		projectDir: '/state/shop',
		workingDir: '/srv/shop',
		settings: null,
		found: {kind: 'postgres', service: 'db', container: {id: 'c1', name: 'shop-db-1', service: 'db', running: true, image: 'acme/db:15', imageId: 'sha256:1', env: {}, healthcheck: [], mounts: [], createdAt: '', startedAt: null}, database: 'app', user: 'app', file: null, how: 'its environment (POSTGRES_*/MYSQL_*/MARIADB_*)'},
		migrations: {table: 'public.schema_migrations', tools: 'dbmate', applied, head: '20260201000004', hasTimes: true},
		currentTag: 'v1.4.0',
		releaseContainers: [{id: 'w1', name: 'shop-web-1', service: 'web', running: true, image: 'app:v1.4.0'}],
		target: {tag: 'v1.3.9', ref: 'app:v1.3.9', how: 'last-known-good'},
		targetShipped: null,
		currentShipped: null,
		boundary,
		backups: [
			{time: '2026-11-22T03:00:00.000Z', project: 'shop', release: 'v1.3.9', migrationHead: '20260101000002', bytes: 123456, sha256: 'ab'.repeat(32), path: '/state/shop/backups/shop-20261122-030000Z-v1.3.9.dump', durationMs: 800, engine: 'postgres', database: 'app', format: 'pg_dump custom format', reason: 'before deploy of v1.4.0', present: true},
		],
		backupDir: '/state/shop/backups',
		retainDays: 7,
		downCommand: {argv: ['dbmate', 'rollback'], containerId: 'w1', containerName: 'shop-web-1', source: 'detected'},
		lock: {state: 'free'},
		records: [],
		notes: [],
		client: null,
	};
}

async function mount() {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web')]});
	const ran: DatabaseAction[] = [];
	fake.model.database = {
		gather: async () => {
			const f = facts();
			return {facts: f, plan: planDatabase(f)};
		},
		run: (action, record) =>
			runAction(record, 'database', action, async a => {
				ran.push(a);
				return {ok: true, error: null, data: a.kind === 'restore' ? {head: '20260101000002'} : {}};
			}),
	};
	const ui = render(<App model={fake.model} size={size} color={false} />);
	cleanups.push(async () => {
		ui.unmount();
		await sleep(50);
		fake.cleanup();
	});
	const frame = (predicate: (f: string) => boolean, timeoutMs?: number) => frameWhere(ui.lastFrame, predicate, timeoutMs);
	const press = async (keys: string, ms = 30) => {
		ui.stdin.write(keys);
		await sleep(keys === '\u001B' ? 60 : ms);
	};
	await frame(f => f.includes('Checklist'));
	for (let i = 0; i < 3; i++) await press('\u001B[B');
	await press('\r');
	await frame(f => f.includes('Step 4 · Database') && f.includes('Plan'));
	return {fake, ran, frame, press};
}

test('step 4 draws the migrations with the boundary, the flagged SQL with its line, the backups and the plan', async () => {
	const {fake, frame} = await mount();
	const shown = await frame(f => f.includes('sha256'));
	assert.match(shown, /postgres in db \(shop-db-1\)/);
	assert.match(shown, /20260101000002 +2026-11-01 10:00:01 *│\n│ +── v1\.3\.9 ends here ──/);
	assert.match(shown, /› 20260201000004 +2026-11-22 03:10:00 +DESTRUCTIVE \(heuristic\)/);
	assert.match(shown, /20260201000004_drop\.sql:3 DROP COLUMN: ALTER TABLE orders DROP COLUMN total/);
	assert.match(shown, /v1\.3\.9 +head 20260101000002 .*sha256 abababababab +shop-2026/);
	assert.match(shown, /› 1\. Roll forward to a hotfix/);
	assert.match(shown, /2\. Restore shop-20261122-030000Z-v1\.3\.9\.dump \(taken 2026-11-22 03:00 UTC/);
	assert.match(shown, /3\. Step down ONE migration: 20260201000004 → 20260101000002 +\[typed\]/);
	assert.match(shown, /DESTRUCTIVE \(heuristic\): restore a backup or step/);
	assert.doesNotMatch(shown, /Leave the schema/);
	// The finding goes into the timeline, where the Stabilise plan's warning reads it.
	await frame(() => fake.model.timeline.events().some(e => e.type === 'database_boundary'));
	const found = fake.model.timeline.events().find(e => e.type === 'database_boundary')!;
	assert.equal(found.data['target'], 'v1.3.9');
	assert.equal(found.data['verdict'], 'destructive');
	assert.deepEqual(found.data['past'], ['20260201000004']);
});

test('restore needs the backup name typed; a wrong name runs nothing, the right one runs it and records it', async () => {
	const {fake, ran, frame, press} = await mount();
	await press('\u001B[B');
	await press('\r');
	await frame(f => f.includes('to confirm (esc cancels)'));
	await press('nope');
	await press('\r');
	await frame(f => f.includes('"nope" is not shop-20261122-030000Z-v1.3.9.dump: nothing was run'));
	assert.equal(ran.length, 0);
	await press('\r');
	await press('shop-20261122-030000Z-v1.3.9.dump', 60);
	await press('\r');
	await frame(f => f.includes('Restored; head 20260101000002'));
	assert.deepEqual(ran.map(a => a.kind), ['restore']);
	const types = fake.model.timeline.events().filter(e => e.step === 'database').map(e => e.type);
	assert.deepEqual(types.slice(-4), ['step_status', 'action_start', 'action_result', 'step_status']);
});

test('roll forward records the hotfix owner', async () => {
	const {fake, ran, frame, press} = await mount();
	await press('\r');
	await frame(f => f.includes('Who owns the hotfix?'));
	await press('dana', 60);
	await press('\r');
	await frame(f => f.includes('Recorded: roll forward'));
	assert.equal(ran[0]?.kind, 'roll-forward');
	const done = fake.model.timeline.events().findLast(e => e.type === 'step_status' && e.step === 'database');
	assert.match(String(done?.data['reason']), /owner dana/);
});
