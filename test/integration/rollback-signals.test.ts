// The operator's SSH session drops (SIGHUP), or the command is killed outright (SIGKILL),
// mid-rollback: the detached worker finishes anyway and the result is there on re-running;
// meanwhile a second command is refused and a second console opens read-only, both naming
// the holder.
import assert from 'node:assert/strict';
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {openConsole} from '../../source/console/open-console.js';
import type {GlobalOptions} from '../../source/commands/global-options.js';
import {processAlive as alive} from '../../source/incident/operator.js';
import {CLI, oneLine, runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-signals-state-'));
let stack: Stack;

// A web healthcheck that first runs 4 s after start: every `up --wait` takes that long,
// so there is time to act mid-rollback.
const slowHealth = `services:
  web:
    healthcheck:
      interval: 4s
`;

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', withDb: false, extraCompose: slowHealth});
	await stack.up({wait: true});
	await stack.setTag('v1.4.0');
	await stack.up();
});

after(async () => {
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
});

/** The command in its own process group, as a login shell's job would be. */
function startRollback(to: string): {child: ChildProcess; workerPid: Promise<number>; exited: Promise<void>} {
	const child = spawn(process.execPath, [CLI, 'rollback', '--to', to, '--yes', '--project-dir', stack.dir, '--state-dir', stateDir], {
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: {...process.env, NO_COLOR: '1'},
	});
	let out = '';
	const workerPid = new Promise<number>((resolve, reject) => {
		child.stdout!.on('data', (chunk: Buffer) => {
			out += chunk.toString();
			const match = /Worker pid (\d+) runs it/.exec(out);
			if (match) resolve(Number(match[1]));
		});
		child.once('exit', () => reject(new Error(`the command ended before starting a worker:\n${out}`)));
	});
	child.stderr!.resume();
	const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
	return {child, workerPid, exited};
}

interface History {
	current: string | null;
	lock: {state: string};
	lastRun: {running: boolean; result: {success: boolean; to: string; duration: number} | null} | null;
}

async function history(): Promise<History> {
	const result = await runCli(['history', '--json', '--project-dir', stack.dir, '--state-dir', stateDir]);
	assert.equal(result.exitCode, 0, result.stderr);
	return JSON.parse(result.stdout) as History;
}

/** Re-runs `history --json` until the worker has finished. */
async function finished(workerPid: number): Promise<History> {
	for (let i = 0; i < 120; i++) {
		if (!alive(workerPid)) break;
		await delay(250);
	}
	assert.equal(alive(workerPid), false, 'the worker finished');
	return history();
}

const consoleOptions: Omit<GlobalOptions, 'projectDir' | 'stateDir'> = {readOnly: false, color: false, json: false, yes: false, redact: true};

test('SIGHUP to the command mid-rollback: the worker finishes; meanwhile others are refused or read-only, naming the holder', async () => {
	const run = startRollback('v1.3.9');
	const workerPid = await run.workerPid;

	// A second operator's command: refused, naming who holds the project and doing what.
	const second = await runCli(['rollback', '--to', 'v1.3.8', '--yes', '--project-dir', stack.dir, '--state-dir', stateDir]);
	assert.equal(second.exitCode, 2);
	const line = oneLine(second.stderr);
	assert.match(line, new RegExp(`locked by \\S+ \\(pid ${workerPid} on \\S+\\) since .*: rollback to v1\\.3\\.9 \\(worker\\)`));

	// A second console: read-only, with the holder named, and it sees the run in progress.
	const opened = await openConsole({...consoleOptions, projectDir: stack.dir, stateDir});
	try {
		assert.equal(opened.model.readOnly, true);
		assert.match(opened.model.readOnlyReason ?? '', new RegExp(`locked by .*pid ${workerPid}.*rollback to v1\\.3\\.9`));
		const latest = await opened.model.stabilise!.latest();
		assert.equal(latest?.running, true);
		assert.equal(latest?.pid, workerPid);
	} finally {
		opened.close();
	}

	// The SSH session drops: the whole process group gets SIGHUP.
	assert.equal(alive(workerPid), true, 'the worker is still at work');
	process.kill(-run.child.pid!, 'SIGHUP');
	await run.exited;
	assert.equal(run.child.signalCode, 'SIGHUP', 'the command died of it');
	assert.equal(alive(workerPid), true, 'the worker did not');

	const h = await finished(workerPid);
	assert.equal(h.lastRun?.result?.success, true);
	assert.equal(h.lastRun?.result?.to, 'v1.3.9');
	assert.equal(h.current, 'v1.3.9');
	assert.equal(h.lock.state, 'free');
});

test('SIGKILL to the command mid-rollback: the worker finishes and the result is there on re-running', async () => {
	const run = startRollback('v1.3.8');
	const workerPid = await run.workerPid;
	process.kill(-run.child.pid!, 'SIGKILL');
	await run.exited;
	assert.equal(run.child.signalCode, 'SIGKILL');
	assert.equal(alive(workerPid), true, 'the worker carries on');

	// Reopening while it runs shows it running; afterwards, its result.
	const h = await finished(workerPid);
	assert.equal(h.lastRun?.running, false);
	assert.equal(h.lastRun?.result?.success, true);
	assert.equal(h.current, 'v1.3.8');
	assert.equal(h.lock.state, 'free');
	const opened = await openConsole({...consoleOptions, projectDir: stack.dir, stateDir});
	try {
		assert.equal(opened.model.readOnly, false, 'the project is free again');
		const latest = await opened.model.stabilise!.latest();
		assert.equal(latest?.running, false);
		assert.equal(latest?.result?.success, true);
		assert.match(latest?.output ?? '', /rollback to v1\.3\.8 complete/);
	} finally {
		opened.close();
	}
});
