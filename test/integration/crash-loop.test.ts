// Issue 10, item 1: a service that runs ~2 s, exits 3 and is restarted by its policy must be
// reported crash-looping on every sample, not `running`/exit 0 whenever it is caught up.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';

let stack: Stack;

const crasher = `services:
  crasher:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    restart: unless-stopped
    command: ["sh", "-c", "echo starting; sleep 2; echo giving up; exit 3"]
`;

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', withDb: false, extraCompose: crasher});
	await stack.up();
});
after(() => stack?.down());

interface Row {
	service: string;
	state: string;
	ok: boolean;
	exitCode: number | null;
	restartCount: number;
	crashLoop: {reason: string; lastExitCode: number | null} | null;
}

test('a container crashing every ~2 s is crash-looping with exit code 3 on every sample (exit 1)', {timeout: 120_000}, async () => {
	// Once it has crashed once; before that it is, honestly, running.
	for (let i = 0; i < 40; i++) {
		const {stdout} = await runCli(['status', '--json', '--project-dir', stack.dir]);
		const row = (JSON.parse(stdout) as {services: Row[]}).services.find(s => s.service === 'crasher');
		if (row && row.restartCount >= 1) break;
		await delay(500);
	}
	const samples: Array<{exit: number; row: Row}> = [];
	for (let i = 0; i < 12; i++) {
		const result = await runCli(['status', '--json', '--project-dir', stack.dir]);
		const json = JSON.parse(result.stdout) as {ok: boolean; services: Row[]};
		samples.push({exit: result.exitCode, row: json.services.find(s => s.service === 'crasher')!});
		await delay(700 + (i % 3) * 400);
	}
	const seen = samples.map(s => `${s.exit}:${s.row.state}:${s.row.exitCode}`);
	for (const {exit, row} of samples) {
		assert.equal(exit, 1, `every sample exits 1: ${seen.join(' ')}`);
		assert.equal(row.state, 'crash-looping', `every sample says crash-looping: ${seen.join(' ')}`);
		assert.equal(row.ok, false);
		assert.equal(row.exitCode, 3, `the last real exit code, never Docker's 0 while it runs: ${seen.join(' ')}`);
		assert.ok(row.crashLoop?.reason);
	}
	// The healthy release services beside it are untouched by this.
	const {stdout} = await runCli(['status', '--json', '--project-dir', stack.dir]);
	const web = (JSON.parse(stdout) as {services: Row[]}).services.find(s => s.service === 'web')!;
	assert.equal(web.state, 'running');
	assert.equal(web.crashLoop, null);

	const table = await runCli(['status', '--project-dir', stack.dir]);
	assert.match(table.stdout, /^crasher\s+crash-looping\s+/m);
});
