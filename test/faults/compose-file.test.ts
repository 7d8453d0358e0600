// Fault 5: the Compose file edited into an invalid state during an incident, then deleted:
// a clear error, the open incident and its timeline intact, the console still showing the
// containers it knows.
import assert from 'node:assert/strict';
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {oneLine, runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {intoConsole, openConsoleTerminal, type ConsoleTerminal} from './support/console.js';

let stack: Stack;
let terminal: ConsoleTerminal;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-compose-'));

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	await stack.up({wait: true});
	terminal = openConsoleTerminal();
});

after(async () => {
	const pid = terminal?.pid();
	if (pid) process.kill(pid, 'SIGKILL');
	terminal?.kill();
	// Put the file back so `down -v` can find the project.
	writeFileSync(path.join(stack.dir, 'compose.yaml'), original);
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
});

let original = '';

function timeline(): string {
	const incidents = path.join(stateDir, stack.projectName, 'incidents');
	return readdirSync(incidents).map(id => readFileSync(path.join(incidents, id, 'timeline.jsonl'), 'utf8')).join('');
}

const servicesShown = (s: string) => /web\s+running/.test(s) && /worker\s+running/.test(s);

test('edited invalid, then deleted, during an incident: one clear line from the commands, the console keeps the containers, the timeline intact', {timeout: 90_000}, async () => {
	const file = path.join(stack.dir, 'compose.yaml');
	original = readFileSync(file, 'utf8');
	terminal.startConsole(stack.dir, ['--state-dir', stateDir]);
	await intoConsole(terminal, s => /Checklist/.test(s) && servicesShown(s));
	const before = timeline();
	assert.match(before, /incident_opened/);

	// A half-finished edit: the YAML no longer parses.
	writeFileSync(file, `${original}\nservices:\n  web: [unclosed\n`);
	const status = await runCli(['status', '--state-dir', stateDir], {cwd: stack.dir});
	assert.equal(status.exitCode, 2);
	assert.match(oneLine(status.stderr), /compose/i);
	const capture = await runCli(['capture', '--state-dir', stateDir], {cwd: stack.dir});
	assert.equal(capture.exitCode, 2);
	assert.match(oneLine(capture.stderr), /compose/i);

	// The console carries on with what it knows; its services still come from the Engine.
	await stack.compose(['restart', 'worker'], {allowFail: true}).catch(() => {});
	await terminal.waitFor(s => servicesShown(s) && /● live/.test(s), 15_000);
	assert.ok(terminal.pid(), 'the console is still running');
	// A step that reads the Compose file says why it cannot, in its own frame.
	for (let i = 0; i < 20 && !/›3 Stabilise/.test(terminal.screen()); i++) {
		terminal.send(Number(/›(\d) /.exec(terminal.screen())?.[1] ?? 1) < 3 ? 'j' : 'k');
		await new Promise(resolve => setTimeout(resolve, 150));
	}
	terminal.send('Enter');
	const step = await terminal.waitFor(s => /Step 3 · Stabilise/.test(s) && /could not plan: the Compose file \S+compose\.yaml does not parse: yaml: line \d+/.test(s), 20_000);
	assert.doesNotMatch(step, /\n\s+at /, 'no stack trace on screen');
	terminal.send('Escape');
	await terminal.waitFor(s => /Checklist/.test(s) && servicesShown(s), 10_000);

	// Deleted outright.
	rmSync(file);
	const gone = await runCli(['status', '--state-dir', stateDir], {cwd: stack.dir});
	assert.equal(gone.exitCode, 2);
	assert.match(oneLine(gone.stderr), /no Compose file|not a Compose project|compose\.yaml/i);
	await terminal.waitFor(s => servicesShown(s), 10_000);

	// The incident's timeline: everything from before, byte for byte, still at its start.
	assert.ok(timeline().startsWith(before), 'the timeline is intact');
	terminal.send('q');
	await terminal.expectSane(stateDir);
	assert.ok(timeline().startsWith(before));
	assert.match(timeline(), /console_closed/);
});
