// Fault 13: a Compose project of 40 services under a storm of about 200 containers' worth of
// Engine events a second (kills that the containers shrug off, plus real restarts), on a
// private dockerd so the storm disturbs nobody. The console stays responsive (key-to-frame
// measured and reported, bounded generously) and under its memory goal (150 MB RSS peak).
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {intoConsole, openConsoleTerminal, type ConsoleTerminal} from './support/console.js';
import {dockerdAvailable, startPrivateEngine, type PrivateEngine} from './support/private-engine.js';

const skip = dockerdAvailable();
const services = Array.from({length: 40}, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
const project = `rct-storm-${process.pid}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-storm-'));
let engine: PrivateEngine;
let terminal: ConsoleTerminal | undefined;

before(async () => {
	if (skip) return;
	engine = await startPrivateEngine();
	engine.loadFromMain('local/busybox:latest');
	const body = services
		.map(name =>
			[
				`  ${name}:`,
				'    image: local/busybox:latest',
				'    pull_policy: never',
				'    network_mode: host',
				'    restart: always',
				`    command: ["sh", "-c", "while :; do echo ${name} tick; sleep 1; done"]`,
			].join('\n'),
		)
		.join('\n');
	writeFileSync(path.join(dir, 'compose.yaml'), `name: ${project}\nservices:\n${body}\n`);
	engine.docker(['compose', '--project-directory', dir, 'up', '-d', '--quiet-pull']);
});

after(async () => {
	const pid = terminal?.pid();
	if (pid) process.kill(pid, 'SIGKILL');
	terminal?.kill();
	if (engine) {
		try {
			engine.docker(['compose', '--project-directory', dir, 'down', '-v', '-t', '0']);
		} catch {
			// destroy() removes whatever is left.
		}
		await engine.destroy();
	}
	rmSync(dir, {recursive: true, force: true});
});

/** One Engine API call on the private socket. */
function api(method: string, pathname: string): Promise<number> {
	return new Promise(resolve => {
		const req = http.request({socketPath: engine.socket, method, path: pathname}, res => {
			res.resume();
			res.on('end', () => resolve(res.statusCode ?? 0));
		});
		req.on('error', () => resolve(0));
		req.end();
	});
}

test('40 services under an event storm: the console answers keys (p95 measured) and stays under 150 MB RSS', {skip, timeout: 120_000}, async () => {
	const ids = engine.docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`]).trim().split('\n');
	assert.equal(ids.length, 40);
	terminal = openConsoleTerminal({columns: 140, rows: 45, env: {DOCKER_HOST: engine.dockerHost}});
	const stateDir = mkdtempSync(path.join(dir, 'state-'));
	terminal.startConsole(dir, ['--state-dir', stateDir]);
	await intoConsole(terminal, s => /Checklist/.test(s) && /s01\s+running/.test(s), 30_000);
	const pid = terminal.pid()!;
	// Calm first: the selection moves, the logs pane follows.
	terminal.send('Tab');
	await terminal.waitFor(s => /Logs: s02/.test(s), 10_000);

	const calmMb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
	// The storm: SIGWINCH to every container as fast as the Engine takes them, up to 5 a second each
	// (a `kill` event each; PID 1 ignores it), and a real restart of one container a second.
	let stop = false;
	let sent = 0;
	const loop = async (offset: number) => {
		for (let tick = 0; !stop; tick++) {
			const started = Date.now();
			await Promise.all(ids.filter((_, i) => i % 2 === offset).map(id => api('POST', `/containers/${id}/kill?signal=SIGWINCH`).then(() => sent++)));
			if (offset === 0 && tick % 5 === 0) void api('POST', `/containers/${ids[tick % ids.length]}/restart?t=0`);
			await delay(Math.max(0, 200 - (Date.now() - started)));
		}
	};
	const storm = Promise.all([loop(0), loop(1)]);

	const latencies: number[] = [];
	const startedAt = Date.now();
	try {
		await delay(3000);
		// Key to frame: ? opens the help over the panes and closes it again.
		for (let i = 0; i < 10; i++) {
			let start = Date.now();
			terminal.send('?');
			await terminal.waitFor(s => !/Logs: s\d\d/.test(s), 10_000);
			latencies.push(Date.now() - start);
			start = Date.now();
			terminal.send('?');
			await terminal.waitFor(s => /Logs: s\d\d/.test(s), 10_000);
			latencies.push(Date.now() - start);
			await delay(250);
		}
	} finally {
		stop = true;
		await storm;
	}
	const seconds = (Date.now() - startedAt) / 1000;
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const peakMb = Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
	latencies.sort((a, b) => a - b);
	const p95 = latencies[Math.ceil(latencies.length * 0.95) - 1]!;
	process.stderr.write(
		`# storm: ${(sent / seconds).toFixed(0)} kill events/s (+1 restart/s) to 40 services for ${seconds.toFixed(0)} s; key to frame median ${latencies[latencies.length >> 1]} ms, p95 ${p95} ms; console peak RSS ${peakMb.toFixed(0)} MB (${calmMb.toFixed(0)} MB before the storm)\n`,
	);
	// As fast as this machine's Engine takes the kills (about 90/s on the 2-core test VM under load).
	assert.ok(sent / seconds > 50, `the storm reached ${(sent / seconds).toFixed(0)} events/s`);
	assert.ok(p95 < 3000, `p95 key to frame ${p95} ms`);
	assert.ok(peakMb < 150, `peak RSS ${peakMb.toFixed(0)} MB (goal 150 MB)`);
	assert.match(terminal.screen(), /● live/);
	terminal.send('q');
	await terminal.expectSane(dir);
});

