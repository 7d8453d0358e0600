import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, afterEach, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {CLI} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {openTerminal, type Terminal} from '../support/tmux.js';

let stack: Stack;
let terminal: Terminal;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-e2e-state-'));
const sttyFile = path.join(stateDir, 'stty.txt');
// CI runs with CI=true: the console must still draw in a real terminal.
const command = `${process.execPath} ${CLI} --state-dir ${stateDir}`;

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9'});
	await stack.up({wait: true});
	await stack.setTag('v1.4.0');
	await stack.up();
	// Wait until the broken release has crashed at least once.
	for (let i = 0; i < 100; i++) {
		const restarts = execFileSync('docker', ['inspect', '-f', '{{.RestartCount}}', `${stack.projectName}-web-1`], {encoding: 'utf8'}).trim();
		if (Number(restarts) >= 1) break;
		await delay(200);
	}
	terminal = openTerminal({columns: 120, rows: 36, env: {CI: 'true'}});
	terminal.run(`cd ${stack.dir}`);
});

// A failed test must not leave its console running into the next one.
afterEach(() => {
	const pid = consolePid();
	if (pid) process.kill(pid, 'SIGKILL');
	terminal?.run('stty sane; clear');
});

after(async () => {
	terminal?.kill();
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
});

/** The console's pid: the child of the pane's shell (meow renames the process, so no pgrep -f). */
function consolePid(): number | null {
	try {
		const shell = execFileSync('tmux', ['list-panes', '-t', terminal.name, '-F', '#{pane_pid}'], {encoding: 'utf8'}).trim();
		const out = execFileSync('pgrep', ['-P', shell], {encoding: 'utf8'}).trim();
		return out ? Number(out.split('\n')[0]) : null;
	} catch {
		return null;
	}
}

async function startConsole(): Promise<{frame: string; ms: number}> {
	terminal.run('clear');
	await terminal.waitFor(screen => screen.trim() === '$');
	const start = Date.now();
	terminal.run(command);
	const frame = await terminal.waitFor(screen => /Services/.test(screen) && /› web\s+(crash-looping|restarting|exited|running)/.test(screen) && /Checklist/.test(screen));
	return {frame, ms: Date.now() - start};
}

/** The terminal is usable again: the console is gone and the shell's tty is in cooked mode with echo. */
async function expectSaneTerminal(): Promise<string> {
	for (let i = 0; i < 100 && consolePid() !== null; i++) await delay(50);
	assert.equal(consolePid(), null, 'the console exited');
	terminal.run(`stty -a > ${sttyFile}; echo STTY-DONE`);
	await terminal.waitFor(screen => screen.includes('STTY-DONE\n$') || /STTY-DONE\s*\n\$/.test(screen));
	const stty = readFileSync(sttyFile, 'utf8');
	assert.match(stty, /(^|\s)icanon(\s|$)/, 'icanon is on');
	assert.match(stty, /(^|\s)echo(\s|$)/, 'echo is on');
	return stty;
}

test('the first full frame names the failing service within 2 s, and q leaves the terminal sane', async () => {
	const {frame, ms} = await startConsole();
	assert.ok(consolePid(), 'the console is running');
	assert.ok(ms < 2000, `first full frame after ${ms} ms`);
	assert.match(frame, /1 failing/);
	assert.match(frame, /v1\.4\.0/);
	// The logs pane keeps following the crash loop: the panic, then the next run after a restart.
	await terminal.waitFor(screen => /panic: runtime error/.test(screen) && /container \S+-web-1 restarted \(exit 2\)/.test(screen), 15_000);
	terminal.send('q');
	await expectSaneTerminal();
	assert.match(terminal.screen(), /Incident \d{8}-\d{6}-[0-9a-f]{4} stays open/);
});

for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
	test(`${signal} restores the terminal`, async () => {
		await startConsole();
		const pid = consolePid();
		assert.ok(pid, 'the console is running');
		process.kill(pid, signal);
		await expectSaneTerminal();
	});
}

test('reopening resumes the same incident', async () => {
	const incidents = () => execFileSync('ls', [path.join(stateDir, stack.projectName, 'incidents')], {encoding: 'utf8'}).trim().split('\n');
	const before = incidents();
	const {frame} = await startConsole();
	assert.deepEqual(incidents(), before, 'no new incident');
	assert.ok(frame.includes(`incident ${before[0]}`));
	terminal.send('q');
	await expectSaneTerminal();
});

test('at 80×24 the bad release shows the TAG column, and Stabilise shows every command that will run whole', async () => {
	const small = openTerminal({columns: 80, rows: 24, env: {CI: 'true'}});
	try {
		small.run(`cd ${stack.dir}`);
		small.run(command);
		const frame = await small.waitFor(screen => /Services/.test(screen) && /› web\s+(crash-looping|restarting|exited|running)/.test(screen), 15_000);
		const header = frame.split('\n').find(line => line.includes('SERVICE'))!;
		for (const title of ['SERVICE', 'STATE', 'TAG', 'RESTARTS']) assert.ok(header.includes(title), `${title} in: ${header}`);
		assert.match(frame, /› web\s+\S+.*v1\.4\.0/);
		// Step 3, Stabilise: the plan's commands, wrapped rather than cut, scrolled into view.
		small.send('j');
		await small.waitFor(screen => /› ?2 Capture evidence/.test(screen));
		small.send('j');
		await small.waitFor(screen => /› ?3 Stabilise/.test(screen));
		small.send('Enter');
		// Nothing was verified on this box: the error says so whole, and ↓ picks v1.3.9.
		const refused = await small.waitFor(screen => screen.includes('Step 3 · Stabilise') && /v1\.3\.9/.test(screen), 20_000);
		assert.match(unwrap(refused), /no last known good release: nothing older than v1\.4\.0 was verified on this box/);
		small.send('Down');
		await small.waitFor(screen => /\$ /.test(screen), 20_000);
		const seen: string[] = [];
		for (let page = 0; page < 6; page++) {
			seen.push(small.screen());
			if (/then wait up to \d+ s, as up --wait does/.test(unwrap(seen.join('\n')))) break;
			small.send('PageDown');
			await delay(300);
		}
		const text = unwrap(seen.join('\n'));
		assert.match(text, /\$ IMAGE_TAG=\S+ docker compose --project-directory \S+ -f \S+compose\.yaml -p \S+ pull --policy always web worker/);
		assert.match(text, /\$ IMAGE_TAG=\S+ docker compose --project-directory \S+ -f \S+compose\.yaml -p \S+ up -d then wait up to \d+ s, as up --wait does/);
		assert.doesNotMatch(text, /pull --policy alw…/);
		small.send('Escape');
		small.send('q');
		await small.waitFor(screen => /stays open/.test(screen), 10_000);
	} finally {
		small.kill();
	}
});

/** The screen's rows without the frame's borders, joined: wrapped lines read whole again. */
function unwrap(screen: string): string {
	return screen
		.split('\n')
		.map(row => row.replace(/^[│╭╰ ]*│ ?/, '').replace(/ *│[│ ]*$/, ''))
		.join(' ')
		.replace(/\s+/g, ' ');
}
