// Fault 6: the state dir read-only, full (a small tmpfs), or on a filesystem that disappears
// (a tmpfs unmounted midway): the fallback is used and named, no earlier file is truncated,
// releases.jsonl and the timeline never lose a complete line.
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {CLI, oneLine, runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {intoConsole, openConsoleTerminal, within} from './support/console.js';

const skip = process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false;
let stack: Stack;
const work = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-statedir-'));
const mounts: string[] = [];

function mountTmpfs(dir: string, options: string): void {
	mkdirSync(dir, {recursive: true});
	execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
	mounts.push(dir);
}

before(async () => {
	if (skip) return;
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	await stack.up({wait: true});
});

after(async () => {
	for (const dir of mounts.reverse()) {
		try {
			execFileSync('umount', ['-l', dir], {stdio: 'ignore'});
		} catch {
			// Unmounted by the test itself.
		}
	}
	await stack?.down();
	rmSync(work, {recursive: true, force: true});
});

const lines = (text: string) => text.split('\n');

test('a read-only state dir: one line naming it, exit 2, nothing written', {skip}, async () => {
	const ro = path.join(work, 'ro');
	mountTmpfs(ro, 'ro,size=1m');
	const result = await runCli(['capture', '--state-dir', ro], {cwd: stack.dir});
	assert.equal(result.exitCode, 2);
	assert.match(oneLine(result.stderr), new RegExp(`--state-dir ${ro} is not writable \\(EROFS\\)`));
	assert.deepEqual(readdirSync(ro), []);
});

test('the shared state dir read-only: the user\'s own state dir takes over, and the output says where', {skip}, async () => {
	const home = mkdtempSync(path.join(work, 'home-'));
	// Only in a mount namespace of its own: /var/lib/rollback-console stays writable for everyone else.
	const script = `mount -t tmpfs -o ro,size=64k tmpfs /var/lib/rollback-console && exec "$@"`;
	const result = await runCli(['capture', '--json'], {
		cwd: stack.dir,
		env: {HOME: home, XDG_STATE_HOME: ''},
		wrapper: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh'],
	});
	assert.equal(result.exitCode, 0, result.stderr);
	const out = JSON.parse(result.stdout) as {bundle: {file: string}};
	const userState = path.join(home, '.local', 'state', 'rollback-console');
	assert.ok(out.bundle.file.startsWith(userState), `the bundle is in the user's state dir: ${out.bundle.file}`);
	assert.ok((result.stderr + result.stdout).includes(userState), 'the output names where the state went');
});

test('a full state disk: rollback refused in one line with nothing changed; capture falls back and says so; releases.jsonl and the timelines keep every byte; the next append starts on a fresh line', {skip, timeout: 120_000}, async () => {
	const full = path.join(work, 'full');
	mountTmpfs(full, 'size=2m');
	const fallback = path.join(work, 'fallback');
	const env = {ROLLBACK_CONSOLE_FALLBACK_DIR: fallback};
	const deployed = await runCli(['deploy', '--to', 'v1.3.8', '--yes', '--state-dir', full], {cwd: stack.dir});
	assert.equal(deployed.exitCode, 0, deployed.stderr);
	const projectDir = path.join(full, stack.projectName);
	const releases = path.join(projectDir, 'releases.jsonl');
	const deploysTimeline = path.join(projectDir, 'deploys', 'timeline.jsonl');
	// A torn last line, as a crash mid-append leaves it.
	writeFileSync(releases, `${readFileSync(releases, 'utf8')}{"time":"2026-11-27T00:00:00Z","event":"seen","tag":"v1.3`);
	const completeBefore = lines(readFileSync(releases, 'utf8')).filter(l => l.endsWith('}')).length;

	const fd = openSync(path.join(full, 'filler'), 'a');
	try {
		for (;;) writeSync(fd, Buffer.alloc(4096, 0x2e));
	} catch (error) {
		assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
	} finally {
		closeSync(fd);
	}
	const releasesBefore = readFileSync(releases);
	const timelineBefore = readFileSync(deploysTimeline);
	const envBefore = readFileSync(path.join(stack.dir, '.env'));

	const rollback = await runCli(['rollback', '--to', 'v1.3.9', '--yes', '--state-dir', full], {cwd: stack.dir, env});
	assert.equal(rollback.exitCode, 2, rollback.stderr);
	assert.match(oneLine(rollback.stderr), /the state dir's disk is full \(ENOSPC\): the project lock cannot be written in \S+, so nothing was changed/);
	assert.ok(readFileSync(path.join(stack.dir, '.env')).equals(envBefore), 'the project is as it was');

	const capture = await runCli(['capture', '--json', '--state-dir', full], {cwd: stack.dir, env});
	assert.equal(capture.exitCode, 0, capture.stderr);
	assert.match(capture.stderr, /disk is full/);
	assert.ok(capture.stderr.includes(fallback), 'stderr names the fallback');
	assert.ok((JSON.parse(capture.stdout) as {bundle: {file: string}}).bundle.file.startsWith(fallback));

	assert.ok(readFileSync(releases).equals(releasesBefore), 'releases.jsonl: every byte kept');
	assert.ok(readFileSync(deploysTimeline).equals(timelineBefore), 'the deploys timeline: every byte kept');
	const history = await runCli(['history', '--json', '--state-dir', full], {cwd: stack.dir});
	assert.equal((JSON.parse(history.stdout) as {records: unknown[]}).records.length, completeBefore, 'the torn line is skipped, the complete ones read');

	// Space again: the next release record starts on a fresh line after the torn one.
	rmSync(path.join(full, 'filler'));
	const again = await runCli(['deploy', '--to', 'v1.3.9', '--yes', '--state-dir', full], {cwd: stack.dir});
	assert.equal(again.exitCode, 0, again.stderr);
	const after = readFileSync(releases, 'utf8');
	assert.ok(after.startsWith(releasesBefore.toString()), 'appended, never rewritten');
	const added = after.slice(releasesBefore.length);
	assert.ok(added.startsWith('\n'), `the next append starts on a fresh line: ${JSON.stringify(after.slice(releasesBefore.length - 60, releasesBefore.length + 60))}`);
	for (const line of lines(added).filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), line);
});

test('the state dir\'s filesystem disappears midway through a capture: it ends, saying so, without hanging', {skip, timeout: 90_000}, async () => {
	// The state dir is a tmpfs mounted inside a read-only one: unmounted, what is left there cannot be written.
	const outer = path.join(work, 'outer');
	mountTmpfs(outer, 'size=64k');
	mkdirSync(path.join(outer, 'state'));
	execFileSync('mount', ['-o', 'remount,ro', outer]);
	const state = path.join(outer, 'state');
	mountTmpfs(state, 'size=8m');
	const fallback = path.join(work, 'fallback-gone');

	let release: () => void = () => {};
	let asked: () => void = () => {};
	const askedPromise = new Promise<void>(resolve => (asked = resolve));
	let released = false;
	const server = http.createServer((_req, res) => {
		if (released) return void res.end('ci log\n');
		asked();
		release = () => ((released = true), res.end('ci log\n'));
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	try {
		const child = spawn(process.execPath, [CLI, 'capture', '--json', '--state-dir', state, '--ci-log', `http://127.0.0.1:${(server.address() as {port: number}).port}/ci.log`], {
			cwd: stack.dir,
			env: {...process.env, NO_COLOR: '1', ROLLBACK_CONSOLE_FALLBACK_DIR: fallback},
		});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', c => (stdout += c));
		child.stderr.on('data', c => (stderr += c));
		const exited = new Promise<number>(resolve => child.on('exit', code => resolve(code ?? -1)));
		await within(askedPromise, 30_000);
		execFileSync('umount', ['-l', state]);
		release();
		const code = await within(exited, 60_000);
		assert.notEqual(code, 'hung', 'the capture ended');
		// Either it carried on in the fallback and said so, or it stopped in one clear sentence.
		if (code === 0) {
			assert.ok(stderr.includes(fallback), `the fallback is named:\n${stderr}`);
			assert.ok((JSON.parse(stdout) as {bundle: {file: string}}).bundle.file.startsWith(fallback));
		} else {
			assert.equal(code, 3, stderr);
			assert.match(stderr.split('\n').filter(Boolean).at(-1) ?? '', /^rollback-console: .*(EROFS|read-only|no longer|gone)/);
			assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
		}
	} finally {
		server.closeAllConnections();
		server.close();
	}
});

test('the console on a full state disk: it opens read-only and says why in its header; the timeline keeps every earlier byte, whole lines only', {skip, timeout: 90_000}, async () => {
	const full = path.join(work, 'full-console');
	mountTmpfs(full, 'size=1m');
	const capture = await runCli(['capture', '--state-dir', full], {cwd: stack.dir});
	assert.equal(capture.exitCode, 0, capture.stderr);
	const fd = openSync(path.join(full, 'filler'), 'a');
	try {
		for (;;) writeSync(fd, Buffer.alloc(4096, 0x2e));
	} catch {
		// Full.
	} finally {
		closeSync(fd);
	}
	const incidents = path.join(full, stack.projectName, 'incidents');
	const timelineFile = path.join(incidents, readdirSync(incidents)[0]!, 'timeline.jsonl');
	const before = readFileSync(timelineFile);
	const terminal = openConsoleTerminal();
	try {
		terminal.startConsole(stack.dir, ['--state-dir', full], {ROLLBACK_CONSOLE_FALLBACK_DIR: path.join(work, 'fallback-console')});
		const screen = await intoConsole(terminal, s => /Checklist/.test(s) && /web\s+running/.test(s));
		assert.match(screen.split('\n')[0]!, /READ-ONLY \(the state dir's disk is full \(ENOSPC\)/);
		terminal.send('q');
		await terminal.expectSane(work);
		// Only ever appended to (what fitted in the last page's slack), never rewritten; whole lines only.
		const after = readFileSync(timelineFile);
		assert.ok(after.subarray(0, before.length).equals(before), 'every earlier byte kept');
		for (const line of after.toString('utf8').split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), line);
	} finally {
		const pid = terminal.pid();
		if (pid) process.kill(pid, 'SIGKILL');
		terminal.kill();
	}
});
