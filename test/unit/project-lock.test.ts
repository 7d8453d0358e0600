import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {
	acquireLock,
	describeHolder,
	handOver,
	holderFor,
	lockFile,
	lockState,
	processStartTime,
	releaseLock,
	releaseLockSync,
	type LockHolder,
} from '../../source/incident/project-lock.js';

const dirs: string[] = [];
const tempDir = () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-lock-'));
	dirs.push(dir);
	return dir;
};
after(() => dirs.forEach(d => rmSync(d, {recursive: true, force: true})));

const alice = {user: 'alice', sshConnection: '203.0.113.5 51000 203.0.113.1 22', host: os.hostname()};

/** A pid that existed and is gone now. */
function deadPid(): number {
	const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'});
	return Number(child.stdout);
}

test('the start time of a live process is read from /proc; a gone one has none', () => {
	assert.equal(typeof processStartTime(process.pid), 'number');
	assert.equal(processStartTime(deadPid()), null);
});

test('one holder at a time: the second is refused with the first one named', async () => {
	const dir = tempDir();
	const mine = holderFor(alice, 'rollback to v1.3.9');
	await acquireLock(dir, mine);
	const holder = JSON.parse(readFileSync(lockFile(dir), 'utf8')) as LockHolder;
	assert.deepEqual(Object.keys(holder).sort(), ['host', 'pid', 'processStart', 'since', 'ssh', 'user', 'what']);
	assert.equal(holder.ssh, alice.sshConnection);
	assert.equal((await lockState(dir)).state, 'mine');

	// Another live process on this host holds it.
	const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
	try {
		const theirs = {...holderFor({...alice, user: 'bob'}, 'console', other.pid!)};
		const otherDir = tempDir();
		await acquireLock(otherDir, theirs);
		const state = await lockState(otherDir);
		assert.equal(state.state, 'held');
		await assert.rejects(acquireLock(otherDir, mine), (error: Error) => {
			assert.match(error.message, new RegExp(`^the project is locked by bob \\(ssh from 203\\.0\\.113\\.5, pid ${other.pid} on \\S+\\) since .* UTC: console$`));
			return true;
		});
		await assert.rejects(acquireLock(otherDir, mine, {takeOverStale: true}), /locked by bob/, 'a live holder is never taken over');
	} finally {
		other.kill();
	}
	assert.equal(await releaseLock(dir, mine), true);
	assert.equal(existsSync(lockFile(dir)), false);
});

test('a dead holder is stale: reported with its details, taken over only when confirmed', async () => {
	const dir = tempDir();
	const gone = {...holderFor(alice, 'rollback to v1.3.9'), pid: deadPid(), processStart: 12345};
	writeFileSync(lockFile(dir), JSON.stringify(gone));
	const state = await lockState(dir);
	assert.equal(state.state, 'stale');
	const mine = holderFor({...alice, user: 'carol'}, 'console');
	await assert.rejects(acquireLock(dir, mine), /^ConsoleError: stale lock \(pid \d+ is gone\) of alice .*: confirm to take it over \(--yes\)/);
	assert.equal(JSON.parse(readFileSync(lockFile(dir), 'utf8')).user, 'alice', 'untouched without confirmation');
	const taken = await acquireLock(dir, mine, {takeOverStale: true});
	assert.equal(taken.tookOver?.user, 'alice');
	assert.equal(JSON.parse(readFileSync(lockFile(dir), 'utf8')).user, 'carol');
});

test('a reused pid is not the holder: a different start time makes the lock stale', async () => {
	const dir = tempDir();
	// Our own pid, but recorded with another start time: the process that took it is gone.
	writeFileSync(lockFile(dir), JSON.stringify({...holderFor(alice, 'console'), pid: process.pid, processStart: 1}));
	const state = await lockState(dir);
	assert.equal(state.state, 'stale');
	assert.match(state.state === 'stale' ? state.reason : '', /now another process/);
});

test('the lock is handed to the worker and released only by its holder', async () => {
	const dir = tempDir();
	const launcher = holderFor(alice, 'rollback to v1.3.9');
	await acquireLock(dir, launcher);
	const worker = {...launcher, pid: 424242, processStart: 99, what: 'rollback to v1.3.9 (worker)'};
	assert.equal(await handOver(dir, launcher, worker), true);
	assert.equal(await handOver(dir, launcher, worker), false, 'only from the current holder');
	assert.equal(await releaseLock(dir, launcher), false, 'the launcher no longer holds it');
	assert.equal(releaseLockSync(dir, launcher), false);
	assert.equal(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid, 424242);
	assert.equal(releaseLockSync(dir, worker), true);
	assert.equal(existsSync(lockFile(dir)), false);
	assert.match(describeHolder(worker), /^alice \(ssh from 203\.0\.113\.5, pid 424242 on .*\) since .*: rollback to v1\.3\.9 \(worker\)$/);
});

test('two processes racing for a free lock: exactly one wins', async () => {
	const dir = tempDir();
	const a = holderFor(alice, 'a');
	// Another live identity (the test runner's parent), so neither sees the other as itself.
	const parent = {...holderFor(alice, 'b'), pid: process.ppid, processStart: processStartTime(process.ppid)};
	const results = await Promise.allSettled([acquireLock(dir, a), acquireLock(dir, parent)]);
	assert.equal(results.filter(r => r.status === 'fulfilled').length, 1);
});
