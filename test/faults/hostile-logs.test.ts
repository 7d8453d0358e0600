// Fault 4: hostile and huge logs — a 1 MiB line, binary bytes, invalid UTF-8, escape sequences
// that would clear the screen, move the cursor or set the terminal's title, and a container
// writing 50,000 lines a second. The screen stays safe, responsive and bounded; the capture's
// log file keeps every byte (escapes and all).
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {intoConsole, openConsoleTerminal, type ConsoleTerminal} from './support/console.js';

const hostile = String.raw`
services:
  weird:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    command:
      - sh
      - -c
      - |
        echo weird-start
        head -c 1048576 /dev/zero | tr '\0' x; echo
        printf 'binary:\001\002\177\376\377:end\n'
        printf 'bad utf8: \303\050 \240\241 end\n'
        printf 'clear:\033[2J\033[H\033[10;10HHIJACK\n'
        printf 'title:\033]0;PWNED\007 after-title\n'
        printf 'bell and backspace:\007\010\010 end\n'
        echo weird-end
        while :; do sleep 3600; done
  rawbytes:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    # The local driver keeps the bytes as written (json-file turns invalid UTF-8 into U+FFFD itself).
    logging: {driver: local}
    command:
      - sh
      - -c
      - |
        printf 'binary:\001\002\177\376\377:end\n'
        printf 'bad utf8: \303\050 \240\241 end\n'
        while :; do sleep 3600; done
  flood:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    logging:
      driver: json-file
      options: {max-size: 20m, max-file: "2"}
    command:
      - sh
      - -c
      - |
        while :; do seq 1 5000 | sed 's/^/flood line /'; usleep 100000; done
`;

let stack: Stack;
let terminal: ConsoleTerminal;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-logs-'));

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', withDb: false, extraCompose: hostile});
	await stack.up({wait: false});
	terminal = openConsoleTerminal({columns: 120, rows: 40});
});

after(async () => {
	const pid = terminal?.pid();
	if (pid) process.kill(pid, 'SIGKILL');
	terminal?.kill();
	await stack?.down();
	rmSync(stateDir, {recursive: true, force: true});
});

/** Tab until the logs pane shows `service`, waiting for each move to be drawn (the box is busy). */
async function select(service: string): Promise<void> {
	const shown = () => /Logs: (\S+)/.exec(terminal.screen())?.[1];
	for (let i = 0; i < 30 && shown() !== service; i++) {
		const before = shown();
		terminal.send('Tab');
		// A key sent while the console is busy may be drawn late: wait a little, then send again.
		await terminal.waitFor(s => /Logs: (\S+)/.exec(s)?.[1] !== before, 2000).catch(() => {});
	}
	assert.equal(shown(), service);
}

const paneTitle = () => execFileSync('tmux', ['display-message', '-p', '-t', terminal.name, '#{pane_title}'], {encoding: 'utf8'}).trim();

async function capturedLog(): Promise<{captured: Buffer; raw: Buffer; rawBytes: Buffer; capturedBytes: Buffer}> {
	for (let i = 0; i < 50 && !execFileSync('docker', ['logs', `${stack.projectName}-weird-1`], {encoding: 'latin1', maxBuffer: 64 * 1024 * 1024}).includes('weird-end'); i++) await delay(200);
	const result = await runCli(['capture', '--json', '--state-dir', stateDir], {cwd: stack.dir});
	assert.equal(result.exitCode, 0, result.stderr);
	const out = JSON.parse(result.stdout) as {dir?: string; manifest?: string};
	const dir = out.dir ?? path.dirname(out.manifest!);
	const captured = readFileSync(path.join(dir, 'containers', `${stack.projectName}-weird-1`, 'log.txt'));
	const raw = execFileSync('docker', ['logs', `${stack.projectName}-weird-1`], {maxBuffer: 64 * 1024 * 1024});
	const capturedBytes = readFileSync(path.join(dir, 'containers', `${stack.projectName}-rawbytes-1`, 'log.txt'));
	const rawBytes = execFileSync('docker', ['logs', `${stack.projectName}-rawbytes-1`]);
	return {captured, raw, rawBytes, capturedBytes};
}

let logs: ReturnType<typeof capturedLog> | undefined;
const once = () => (logs ??= capturedLog());

test('the capture\'s log file keeps the escapes, control bytes and the 1 MiB line byte for byte', {timeout: 60_000}, async () => {
	const {captured, raw} = await once();
	// Each line is "<timestamp> <stream> <bytes>": every line the Engine holds is there exactly.
	const lines = raw.toString('latin1').split('\n').filter(Boolean).map(line => Buffer.from(line, 'latin1'));
	assert.ok(lines.length >= 6, `${lines.length} lines`);
	for (const line of lines) assert.ok(captured.includes(Buffer.concat([Buffer.from(' '), line, Buffer.from('\n')])), `kept whole: ${JSON.stringify(line.subarray(0, 60).toString('latin1'))}`);
	for (const needle of ['\x1b[2J\x1b[H\x1b[10;10HHIJACK', '\x1b]0;PWNED\x07 after-title', '\x07\x08\x08 end']) {
		assert.ok(captured.includes(Buffer.from(needle, 'latin1')), `kept: ${JSON.stringify(needle)}`);
	}
	assert.ok(captured.includes(Buffer.alloc(1024 * 1024, 'x')), 'the 1 MiB line whole');
});

test('the capture\'s log file keeps invalid UTF-8 and binary bytes as they were', {timeout: 60_000}, async () => {
	const {capturedBytes: captured, rawBytes} = await once();
	assert.ok(rawBytes.includes(Buffer.from('\xfe\xff', 'latin1')), 'the Engine (local log driver) holds the raw bytes');
	assert.ok(captured.includes(Buffer.from('binary:\x01\x02\x7f\xfe\xff:end', 'latin1')), 'binary bytes kept');
	assert.ok(captured.includes(Buffer.from('bad utf8: \xc3\x28 \xa0\xa1 end', 'latin1')), 'invalid UTF-8 kept');
});

test('the console: escapes never reach the terminal (title, screen, cursor), and with 50,000 lines a second it answers keys and stays bounded', {timeout: 90_000}, async () => {
	const titleBefore = paneTitle();
	terminal.startConsole(stack.dir, ['--state-dir', stateDir]);
	await intoConsole(terminal, s => /Checklist/.test(s) && /weird/.test(s) && /flood/.test(s), 20_000);
	const pid = terminal.pid()!;
	// Show the weird service's logs, all of them.
	await select('weird');
	const screen = await terminal.waitFor(s => /Logs: weird/.test(s) && /weird-end/.test(s), 15_000);
	assert.notEqual(paneTitle(), 'PWNED', 'the title was not changed');
	assert.equal(paneTitle(), titleBefore);
	assert.match(screen.split('\n')[0]!, /@ .* · incident /, 'the header is still on the first row: nothing cleared the screen');
	assert.match(screen, /after-title/);
	assert.doesNotMatch(screen, /^HIJACK/m);

	// The flood, selected: keys still answer within a generous bound; memory stays bounded.
	await select('flood');
	await terminal.waitFor(s => /Logs: flood/.test(s) && /flood line \d+/.test(s), 15_000);
	const latencies: number[] = [];
	for (let i = 0; i < 6; i++) {
		const start = Date.now();
		terminal.send('?');
		await terminal.waitFor(s => /help|Keys/i.test(s) && !/Logs: flood/.test(s), 5000);
		terminal.send('?');
		await terminal.waitFor(s => /Logs: flood/.test(s), 5000);
		latencies.push((Date.now() - start) / 2);
	}
	latencies.sort((a, b) => a - b);
	// Bounded: the log rings are full by now; ten more seconds of flood must not grow the console.
	const memory = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
	const samples: number[] = [];
	for (let i = 0; i < 7; i++) {
		// Sampled while the flood goes on.
		samples.push(Math.round(memory('VmRSS')));
		await delay(5000);
	}
	const peak = memory('VmHWM');
	process.stderr.write(
		`# flood (50,000 lines/s): key to frame median ${latencies[3]} ms, worst ${latencies.at(-1)} ms; console RSS every 5 s: ${samples.join(' ')} MB, peak ${peak.toFixed(0)} MB\n`,
	);
	assert.ok(latencies.at(-1)! < 2000, `keys answer under the flood: ${latencies.join(', ')} ms`);
	// Bounded, not a leak: 35 s of flood (1.75 million lines) against 5,000-line rings, under the goal.
	assert.ok(peak < 150, `peak RSS ${peak.toFixed(0)} MB (goal 150 MB); every 5 s: ${samples.join(' ')} MB`);
	terminal.send('q');
	await terminal.expectSane(stateDir);
});
