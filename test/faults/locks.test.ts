// Faults 8 and 9: two consoles and a headless `rollback --yes` started at the same moment on
// one project (10 rounds): exactly one acts, the others name the holder. And a stale lock
// whose pid now belongs to an unrelated live process: reported as stale with its details.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {processStartTime} from '../../source/incident/file-lock.js';
import {CLI, runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {openConsoleTerminal, within, type ConsoleTerminal} from './support/console.js';

let stack: Stack;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-locks-'));
const terminals: ConsoleTerminal[] = [];
const lockPath = () => path.join(stateDir, stack.projectName, 'lock');
const roundsDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-rounds-'));

/** Until the broken release's web has crashed at least once. */
async function brokenNow(): Promise<void> {
	for (let i = 0; i < 100; i++) {
		const {stdout} = await stack.compose(['ps', '--all', '--format', '{{.Service}} {{.Image}} {{.State}} {{.Status}}'], {allowFail: true});
		const web = stdout.split('\n').find(l => l.startsWith('web ')) ?? '';
		if (/v1\.4\.0/.test(web) && /restarting|exited|Restarting/.test(web)) return;
		await delay(200);
	}
	throw new Error('the broken release did not crash');
}

before(async () => {
	await ensureTestReleases();
	// A broken release: the console opens straight onto the incident (no "open one?" question).
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	await stack.up({wait: true});
	await stack.setTag('v1.4.0');
	await stack.up();
	terminals.push(openConsoleTerminal(), openConsoleTerminal());
});

after(async () => {
	for (const t of terminals) {
		const pid = t.pid();
		if (pid) process.kill(pid, 'SIGKILL');
		t.kill();
	}
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
	rmSync(roundsDir, {recursive: true, force: true});
});


test('two consoles and rollback --yes at the same moment, 10 rounds: exactly one acts, the others name it', {timeout: 240_000}, async () => {
	const winners: string[] = [];
	for (let round = 0; round < 10; round++) {
		const target = round % 2 === 0 ? 'v1.3.8' : 'v1.3.7';
		// A state dir of its own each round: no incident yet and a broken release, so the consoles
		// open at once, with no question to answer before they take the lock.
		const stateDir = mkdtempSync(path.join(roundsDir, `round-${round}-`));
		await brokenNow();
		for (const t of terminals) t.run('clear');
		await delay(100);
		// All three at once.
		for (const t of terminals) t.startConsole(stack.dir, ['--state-dir', stateDir]);
		const rollback = spawn(process.execPath, [CLI, 'rollback', '--to', target, '--yes', '--state-dir', stateDir], {cwd: stack.dir, env: {...process.env, NO_COLOR: '1'}});
		let out = '';
		rollback.stdout.on('data', c => (out += c));
		rollback.stderr.on('data', c => (out += c));
		const exited = new Promise<number>(resolve => rollback.on('exit', code => resolve(code ?? -1)));

		// A console started while the rollback recreates containers may ask whether this is a new
		// problem (its incident was just opened by the rollback): it continues that one.
		const ready = (s: string) => /Checklist/.test(s) && /Services/.test(s);
		const screens = await Promise.all(
			terminals.map(async t => {
				const first = await t.waitFor(s => ready(s) || /c: continue the open one|n: open an incident/.test(s), 20_000);
				if (ready(first)) return first;
				t.send(/c: continue/.test(first) ? 'c' : 'n');
				return t.waitFor(ready, 20_000);
			}),
		);
		const code = await within(exited, 90_000);
		assert.notEqual(code, 'hung');
		const consoleHolds = screens.map(s => !/READ-ONLY/.test(s.split('\n')[0] ?? ''));
		const rollbackActed = code === 0 || /Worker pid \d+ runs it/.test(out);
		const acting = consoleHolds.filter(Boolean).length + (rollbackActed ? 1 : 0);
		assert.equal(acting, 1, `round ${round}: exactly one acts (consoles ${JSON.stringify(consoleHolds)}, rollback exit ${code}):\n${out}\n${screens.join('\n---\n')}`);
		if (!rollbackActed) {
			assert.equal(code, 2, `round ${round}: the refused rollback exits 2: ${out}`);
			assert.match(out, /locked by|held by|holds/i, `round ${round}: the refusal names the holder: ${out}`);
			assert.match(out, /console/, `round ${round}: …as a console: ${out}`);
		}
		// Each read-only console names the holder in its header: the winning console's pid, or the rollback's.
		const holderPids = new Set([...terminals.map(t => t.pid()).filter((p): p is number => p !== null), rollback.pid!, Number(/Worker pid (\d+)/.exec(out)?.[1])]);
		for (const [i, screen] of screens.entries()) {
			if (consoleHolds[i]) continue;
			const header = screen.split('\n')[0] ?? '';
			const pid = Number(/READ-ONLY \(locked by root \(pid (\d+) on /.exec(header)?.[1]);
			assert.ok(holderPids.has(pid), `round ${round}: console ${i} names the holder: ${header}\nholders ${[...holderPids].join(" ")}; rollback exit ${code}:\n${out}`);
		}
		winners.push(rollbackActed ? 'rollback' : `console ${consoleHolds.indexOf(true)}`);
		for (const t of terminals) {
			const pid = t.pid();
			if (pid) process.kill(pid, 'SIGTERM');
		}
		for (let i = 0; i < 100 && terminals.some(t => t.pid() !== null); i++) await delay(50);
		const lock = path.join(stateDir, stack.projectName, 'lock');
		assert.ok(!existsSync(lock) || !/"what":"console"/.test(readFileSync(lock, 'utf8')), 'the console gave the lock back');
		if (rollbackActed) {
			// Break it again for the next round: the console then opens on the incident at once.
			await stack.setTag('v1.4.0');
			await stack.up();
		}
	}
	process.stderr.write(`# winners: ${winners.join(', ')}\n`);
});

test('a stale lock whose pid is now an unrelated live process: reported as stale with its details, taken over only with --yes', {timeout: 60_000}, async () => {
	const unrelated = spawn('sleep', ['60'], {stdio: 'ignore'});
	try {
		await delay(100);
		const start = processStartTime(unrelated.pid!);
		assert.ok(start !== null);
		const holder = {user: 'mallory', ssh: '198.51.100.7 50000 198.51.100.9 22', pid: unrelated.pid, processStart: start - 1000, since: '2026-01-01T00:00:00.000Z', what: 'rollback to v1.3.5', host: os.hostname()};
		mkdirSync(path.dirname(lockPath()), {recursive: true});
		writeFileSync(lockPath(), JSON.stringify(holder));

		const history = await runCli(['history', '--json', '--state-dir', stateDir], {cwd: stack.dir});
		const lock = (JSON.parse(history.stdout) as {lock: {state: string; reason?: string; holder?: {pid: number; user: string}}}).lock;
		assert.equal(lock.state, 'stale', history.stdout);
		assert.match(lock.reason ?? '', new RegExp(`pid ${unrelated.pid} is now another process`));
		assert.equal(lock.holder?.user, 'mallory');

		// Without --yes (no terminal) it is refused, naming the stale lock and its holder; nothing changes.
		const refused = await runCli(['rollback', '--to', 'v1.3.5', '--state-dir', stateDir], {cwd: stack.dir});
		assert.equal(refused.exitCode, 2);
		assert.match(refused.stdout + refused.stderr, new RegExp(`Stale lock \\(pid ${unrelated.pid} is now another process\\) of mallory \\(ssh from 198\\.51\\.100\\.7, pid ${unrelated.pid}`));
		assert.deepEqual(JSON.parse(readFileSync(lockPath(), 'utf8')), holder, 'the lock is untouched');
		// The unrelated process is left alone.
		assert.equal(unrelated.exitCode, null);
		assert.equal(processStartTime(unrelated.pid!), start);
	} finally {
		unrelated.kill();
		rmSync(lockPath(), {force: true});
	}
});
