// Fault 10: the rollback target turns out unhealthy. FAILED with compose's message and the
// failing service's last 50 lines; that evidence of the new failure is in the timeline; no
// retry, no second rollback, no prune on its own.
import assert from 'node:assert/strict';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';

let stack: Stack;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-unhealthy-'));

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	await stack.up({wait: true});
});

after(async () => {
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
});

interface Event {
	type: string;
	step: string | null;
	data: Record<string, any>;
}

test('a rollback whose target crash-loops: FAILED with compose\'s message and the last 50 lines, recorded; nothing retried or pruned', {timeout: 150_000}, async () => {
	const result = await runCli(['rollback', '--to', 'v1.4.0', '--yes', '--state-dir', stateDir], {cwd: stack.dir, timeoutMs: 140_000});
	assert.equal(result.exitCode, 3, result.stderr);
	const said = result.stdout + result.stderr;
	assert.match(said, /rollback to v1\.4\.0 FAILED after [\d.]+ s: .*web/);
	assert.match(said, /the stack is left as it is/);
	assert.match(said, /last \d+ log lines of web/);
	assert.match(said, /panic: runtime error/);

	const incidents = path.join(stateDir, stack.projectName, 'incidents');
	const events = readdirSync(incidents)
		.flatMap(id => readFileSync(path.join(incidents, id, 'timeline.jsonl'), 'utf8').split('\n'))
		.filter(Boolean)
		.map(line => JSON.parse(line) as Event);
	const failure = events.find(e => e.type === 'rollback_failure');
	assert.ok(failure, 'rollback_failure is recorded');
	assert.equal(failure.data['service'], 'web');
	assert.match(String(failure.data['message']), /web/);
	const logs = failure.data['logs'] as string[];
	assert.ok(logs.length > 0 && logs.length <= 50, `${logs.length} lines`);
	assert.ok(logs.some(l => /panic: runtime error/.test(l)), 'the new failure\'s own lines');
	assert.equal(events.filter(e => e.type === 'rollback_complete').at(-1)?.data['success'], false);

	// Once: one rollback, one pull, one up — no retry, no second rollback, nothing pruned.
	assert.equal(events.filter(e => e.type === 'rollback_start').length, 1);
	const commands = events.filter(e => e.type === 'command').map(e => (e.data['argv'] as string[]).join(' '));
	assert.equal(commands.filter(c => / up /.test(` ${c} `)).length, 1, commands.join('\n'));
	assert.equal(commands.filter(c => / pull /.test(` ${c} `)).length, 1, commands.join('\n'));
	assert.deepEqual(commands.filter(c => /prune|rmi|\brm\b|down/.test(c)), []);
	assert.deepEqual(events.filter(e => e.type.startsWith('disk_')), []);
	// Left as it is: the target stays configured (durably, its backup kept) for the operator to judge.
	assert.match(readFileSync(path.join(stack.dir, '.env'), 'utf8'), /IMAGE_TAG=v1\.4\.0/);
	assert.ok(readdirSync(stack.dir).some(f => f.startsWith('.env.bak-')), 'the previous .env is kept');
	const {stdout} = await stack.compose(['images', '--format', 'json'], {allowFail: true});
	assert.match(stdout, /v1\.3\.9|v1\.4\.0/);
});
