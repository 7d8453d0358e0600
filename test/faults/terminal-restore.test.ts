// Fault 7: every way out of the console, in a real terminal (tmux): q, Ctrl+C, SIGINT, SIGTERM,
// SIGHUP, an exception thrown while rendering, an unhandled promise rejection. Each leaves
// `stty -a` sane, the cursor visible and the main screen back, and the timeline says how the
// session ended (console_closed).
import assert from 'node:assert/strict';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, afterEach, before, test} from 'node:test';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {alternateScreenOn, cursorVisible, intoConsole, openConsoleTerminal, type ConsoleTerminal} from './support/console.js';

let stack: Stack;
let terminal: ConsoleTerminal;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-restore-'));

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	await stack.up({wait: true});
	terminal = openConsoleTerminal();
});

afterEach(() => {
	const pid = terminal.pid();
	if (pid) process.kill(pid, 'SIGKILL');
	terminal.run('stty sane; tput cnorm; clear');
});

after(async () => {
	terminal?.kill();
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
});

function closedEvents(): Array<{data: {by: string; exitCode: number; error?: string}}> {
	const incidents = path.join(stateDir, stack.projectName, 'incidents');
	return readdirSync(incidents)
		.flatMap(id => readFileSync(path.join(incidents, id, 'timeline.jsonl'), 'utf8').split('\n'))
		.filter(line => line.includes('"console_closed"'))
		.map(line => JSON.parse(line) as {data: {by: string; exitCode: number; error?: string}});
}

const ways: Array<{name: string; by: string; exitCode: number; fault?: string; act: (t: ConsoleTerminal) => void}> = [
	{name: 'q', by: 'q', exitCode: 0, act: t => t.send('q')},
	{name: 'Ctrl+C', by: 'ctrl-c', exitCode: 0, act: t => t.send('C-c')},
	{name: 'SIGINT', by: 'SIGINT', exitCode: 130, act: t => process.kill(t.pid()!, 'SIGINT')},
	{name: 'SIGTERM', by: 'SIGTERM', exitCode: 143, act: t => process.kill(t.pid()!, 'SIGTERM')},
	{name: 'SIGHUP', by: 'SIGHUP', exitCode: 129, act: t => process.kill(t.pid()!, 'SIGHUP')},
	{name: 'an exception thrown while rendering', by: 'error', exitCode: 3, fault: 'render-throw', act: () => {}},
	{name: 'an unhandled promise rejection', by: 'error', exitCode: 3, fault: 'unhandled-rejection', act: () => {}},
];

for (const way of ways) {
	test(`${way.name}: the terminal is sane, the cursor visible, the main screen back, and the timeline says how it ended`, {timeout: 40_000}, async () => {
		const before = (() => {
			try {
				return closedEvents().length;
			} catch {
				return 0;
			}
		})();
		terminal.run('clear');
		terminal.startConsole(stack.dir, ['--state-dir', stateDir], way.fault ? {ROLLBACK_CONSOLE_TEST_FAULT: way.fault} : {});
		await intoConsole(terminal, s => /Checklist/.test(s) && /web\s+running/.test(s));
		assert.ok(alternateScreenOn(terminal), 'the console draws on the alternate screen');
		way.act(terminal);
		await terminal.expectSane(stateDir);
		assert.ok(cursorVisible(terminal), 'the cursor is visible');
		assert.ok(!alternateScreenOn(terminal), 'the main screen is back');
		const events = closedEvents();
		assert.equal(events.length, before + 1, 'one console_closed event');
		const last = events.at(-1)!.data;
		assert.equal(last.by, way.by);
		assert.equal(last.exitCode, way.exitCode);
		if (way.fault) assert.match(last.error ?? '', /test fault/);
		if (way.fault) assert.match(terminal.screen(), /the console stopped on an error: .*test fault/);
	});
}
