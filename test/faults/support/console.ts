// The built console in a real terminal (tmux), for the fault cases: start it, find its pid,
// check the terminal is usable again after it ends.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {CLI} from '../../support/cli.js';
import {openTerminal, type Terminal} from '../../support/tmux.js';

export interface ConsoleTerminal extends Terminal {
	/** The console's pid: the child of the pane's shell (meow renames the process, so no pgrep -f). */
	pid(): number | null;
	/** Types the console's command line (CLI + args) in `cwd`. */
	startConsole(cwd: string, args: string[], env?: Record<string, string>): void;
	/** Waits for the console to exit, then reads `stty -a` from the same terminal. */
	expectSane(scratchDir: string): Promise<string>;
}

/** The node flags the bin's `#!` line gives (heap sizing): the console runs as the operator's does. */
export function shebangFlags(): string[] {
	const first = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
	const flags = /^#!.*\bnode\b(.*)$/.exec(first)?.[1] ?? '';
	return flags.trim().split(/\s+/).filter(Boolean);
}

export function openConsoleTerminal(options: {columns?: number; rows?: number; env?: Record<string, string>} = {}): ConsoleTerminal {
	// A tmux server takes its global environment from the process that starts it, and every later
	// session (any test file's) inherits it: a private engine's DOCKER_HOST must never get in there.
	const saved = process.env['DOCKER_HOST'];
	delete process.env['DOCKER_HOST'];
	let terminal: Terminal;
	try {
		// CI runs with CI=true: the console must still draw in a real terminal. DOCKER_HOST is always said.
		terminal = openTerminal({
			columns: options.columns ?? 120,
			rows: options.rows ?? 36,
			env: {CI: 'true', DOCKER_HOST: 'unix:///var/run/docker.sock', ...options.env},
		});
	} finally {
		if (saved !== undefined) process.env['DOCKER_HOST'] = saved;
	}
	const pid = () => {
		try {
			const shell = execFileSync('tmux', ['list-panes', '-t', terminal.name, '-F', '#{pane_pid}'], {encoding: 'utf8'}).trim();
			const out = execFileSync('pgrep', ['-P', shell], {encoding: 'utf8'}).trim();
			return out ? Number(out.split('\n')[0]) : null;
		} catch {
			return null;
		}
	};
	return {
		...terminal,
		pid,
		startConsole(cwd, args, env = {}) {
			const vars = Object.entries(env).map(([k, v]) => `${k}='${v}' `).join('');
			terminal.run(`clear; cd ${cwd} && ${vars}${[process.execPath, ...shebangFlags(), CLI, ...args].join(' ')}`);
		},
		async expectSane(scratchDir) {
			// Generous: on a loaded 2-core box a process can take seconds to go after restoring the terminal.
			for (let i = 0; i < 400 && pid() !== null; i++) await delay(50);
			assert.equal(pid(), null, 'the console exited');
			const file = join(scratchDir, `stty-${Date.now()}.txt`);
			// tput cnorm is not needed if the cursor was restored; we read the mode the console left.
			terminal.run(`stty -a > ${file}; echo STTY-DONE`);
			await terminal.waitFor(screen => /STTY-DONE\s*\n\$/.test(screen));
			const stty = readFileSync(file, 'utf8');
			assert.match(stty, /(^|\s)icanon(\s|$)/, 'icanon is on');
			assert.match(stty, /(^|\s)echo(\s|$)/, 'echo is on');
			assert.match(stty, /(^|\s)isig(\s|$)/, 'isig is on');
			assert.match(stty, /(^|\s)icrnl(\s|$)/, 'icrnl is on');
			return stty;
		},
	};
}

/** The cursor is visible in tmux's view of the pane (after the console showed and hid it). */
export function cursorVisible(terminal: Terminal): boolean {
	const flag = execFileSync('tmux', ['display-message', '-p', '-t', terminal.name, '#{cursor_flag}'], {encoding: 'utf8'}).trim();
	return flag === '1';
}

/** Which screen tmux is showing: the alternate one is left only when the console restored it. */
export function alternateScreenOn(terminal: Terminal): boolean {
	return execFileSync('tmux', ['display-message', '-p', '-t', terminal.name, '#{alternate_on}'], {encoding: 'utf8'}).trim() === '1';
}

/** Resolves to the promise's value, or to 'hung' after `ms` (the timer does not outlive it). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'hung'> {
	const controller = new AbortController();
	try {
		return await Promise.race([promise, delay(ms, 'hung' as const, {signal: controller.signal})]);
	} finally {
		controller.abort();
	}
}

/** A healthy project opens on a "no incident open" screen: `n` opens one, then the full console. */
export async function intoConsole(terminal: Terminal, ready: (screen: string) => boolean, timeoutMs = 15_000): Promise<string> {
	const first = await terminal.waitFor(s => ready(s) || /n: open an incident/.test(s), timeoutMs);
	if (ready(first)) return first;
	// The question may be drawn a moment before it listens: ask again until the console opens.
	const start = Date.now();
	for (;;) {
		terminal.send('n');
		try {
			return await terminal.waitFor(ready, 2000);
		} catch (error) {
			if (Date.now() - start > timeoutMs) throw error;
		}
	}
}
