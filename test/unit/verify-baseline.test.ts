import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {appendRelease, type ReleaseRecord} from '../../source/incident/stabilise/releases.js';
import {errorRatesNow} from '../../source/incident/verify/error-lines.js';
import {lastBaseline} from '../../source/incident/verify/record.js';

const now = Date.parse('2026-11-22T03:00:00Z');
const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();

test('the error rate of each service over the window before now, from its containers\' logs', async () => {
	const logs: Record<string, Array<{time: string | null; text: string}>> = {
		a: [
			{time: at(30), text: 'level=error msg="db timeout"'},
			{time: at(90), text: '{"level":"error","msg":"x"}'},
			{time: at(100), text: 'level=info msg=ok'},
			{time: at(400), text: 'level=error msg="too old for the window"'},
		],
		b: [{time: at(10), text: 'panic: nil pointer'}],
		c: [],
	};
	const seen: number[] = [];
	const rates = await errorRatesNow(
		[
			{id: 'a', service: 'api'},
			{id: 'b', service: 'api'},
			{id: 'c', service: 'worker'},
		],
		async function* (id, since) {
			seen.push(since);
			yield logs[id]!;
		},
		{patterns: ['level=error', '^panic:'], windowMs: 5 * 60_000, now},
	);
	assert.deepEqual(rates, {api: 3 / 5, worker: 0});
	assert.ok(seen.every(s => s === now - 5 * 60_000), 'asked from the window\'s start');
});

test('the baseline: the last verified release\'s, else the window a deploy\'s preflight measured', async () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-baseline-'));
	const file = path.join(dir, 'releases.jsonl');
	const record = (event: ReleaseRecord['event'], tag: string, perMinute: Record<string, number> | null): ReleaseRecord => ({
		time: at(0),
		event,
		tag,
		digests: {},
		imageIds: {},
		migrationHead: null,
		operator: null,
		errorBaseline: perMinute ? {perMinute, windowMs: 300_000} : null,
	});
	try {
		assert.equal(await lastBaseline(file), null);
		await appendRelease(file, record('preflight', 'v1.3.9', {api: 0.4}));
		assert.deepEqual((await lastBaseline(file))?.perMinute, {api: 0.4});
		await appendRelease(file, record('verified', 'v1.3.8', {api: 0.1}));
		assert.deepEqual((await lastBaseline(file))?.perMinute, {api: 0.1}, 'a verified release\'s baseline comes first');
	} finally {
		rmSync(dir, {recursive: true, force: true});
	}
});
