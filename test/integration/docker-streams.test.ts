// Events and logs streams against the real offline engine: a crash loop, mixed stdout/stderr,
// a TTY container, a 50,000-line flood, and a service followed across restarts and a recreate.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import type {IncomingMessage} from 'node:http';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {Readable} from 'node:stream';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {promisify} from 'node:util';
import Docker from 'dockerode';
import {
	type ContainerEvent,
	type EventStreamState,
	type LogLine,
	EngineStreamError,
	containerEvents,
	containerLogBatches,
	containerLogs,
	followServiceLogs,
	timeToNs,
	watchContainerEvents,
} from '../../source/engine/docker-streams.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const project = `rct-streams-${randomBytes(4).toString('hex')}`;
const base = `    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    init: true`;
// `$$` is a literal `$` for compose. /tmp/n survives a restart, not a recreate: "run N" counts runs.
const runCommand = `["sh", "-c", "n=$$(cat /tmp/n 2>/dev/null || echo 0); n=$$((n+1)); echo $$n > /tmp/n; for i in 1 2 3; do echo \\"run $$n line $$i\\"; done; echo \\"run $$n err\\" >&2; exit 1"]`;
const composeYaml = `services:
  crash:
${base}
    restart: always
    command: ["sh", "-c", "for i in 1 2 3; do echo \\"crash $$i\\"; done; exit 1"]
  mixed:
${base}
    healthcheck: {test: ["CMD", "true"], interval: 1s, timeout: 1s, retries: 1}
    command: ["sh", "-c", "echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2; echo 'ünïcode ✓'; head -c 40000 /dev/zero | tr '\\\\0' y; echo; printf 'no newline yet'; sleep 0.3; echo ' - then one'; echo done; sleep 3600 & wait"]
  tty:
${base}
    tty: true
    command: ["sh", "-c", "echo tty-1; echo tty-err >&2; head -c 40000 /dev/zero | tr '\\\\0' x; echo; echo tty-done; sleep 3600 & wait"]
  flood:
${base}
    command: ["sh", "-c", "seq 1 50000 | sed 's/^/flood /'; sleep 3600 & wait"]
  follow:
${base}
    restart: always
    command: ${runCommand}
  poll:
${base}
    restart: always
    command: ${runCommand}
`;

const docker = new Docker();
let dir = '';

async function compose(...args: string[]): Promise<string> {
	const {stdout} = await execFileAsync('docker', ['compose', '-p', project, '-f', join(dir, 'compose.yaml'), ...args], {
		timeout: 60_000,
	});
	return stdout;
}

async function containerId(service: string): Promise<string> {
	const id = (await compose('ps', '-aq', service)).trim();
	assert.ok(id, `no container for ${service}`);
	return id;
}

/** Runs `body` and fails if it takes longer than `ms`. */
async function within<T>(ms: number, what: string, body: Promise<T>): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
	});
	try {
		return await Promise.race([body, timeout]);
	} finally {
		clearTimeout(timer);
	}
}

/** Aborts and measures how long the consumer takes to see the iterable end. */
async function abortAndTime(controller: AbortController, ended: Promise<unknown>): Promise<number> {
	const start = performance.now();
	controller.abort();
	await within(2000, 'iterable to end after abort', ended);
	return performance.now() - start;
}

const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

/**
 * Checks a follower's output for a crash loop of `runCommand`: runs in order, each of the
 * first `complete` whole and once, and (when `exact`) exactly one restart marker between two runs.
 */
function checkRuns(lines: LogLine[], container: string, exit: string, complete: number, exact = true): number {
	const runs: Array<{run: number; lines: string[]}> = [];
	let markersBetween = 0;
	for (const line of lines) {
		if (line.marker) {
			assert.match(line.text, new RegExp(`^── container ${container} restarted \\(exit ${exit}\\) ──$`));
			assert.match(line.time ?? '', rfc3339);
			assert.equal(line.stream, 'stderr');
			markersBetween++;
			continue;
		}
		const match = /^run (\d+) (.*)$/.exec(line.text);
		assert.ok(match, line.text);
		const run = Number(match[1]);
		const current = runs.at(-1);
		if (current?.run === run) {
			current.lines.push(match[2]!);
		} else {
			assert.equal(run, (current?.run ?? 0) + 1, `run ${run} follows run ${current?.run}: ${lines.map(l => l.text).join(' | ')}`);
			if (current && exact) assert.equal(markersBetween, 1, `one marker between run ${current.run} and ${run}: ${lines.map(l => l.text).join(' | ')}`);
			runs.push({run, lines: [match[2]!]});
		}
		assert.equal(line.stream, line.text.endsWith('err') ? 'stderr' : 'stdout');
		markersBetween = 0;
	}
	assert.ok(runs.length >= complete, `${runs.length} runs`);
	for (const run of runs.slice(0, complete)) assert.deepEqual([...run.lines].sort(), ['err', 'line 1', 'line 2', 'line 3'], `run ${run.run}`);
	// Nothing twice.
	const keys = lines.filter(l => !l.marker).map(l => `${l.time} ${l.text}`);
	assert.equal(new Set(keys).size, keys.length);
	return runs.length;
}

const wholeRun = (n: number) => ['line 1', 'line 2', 'line 3', 'err'].map(s => `run ${n} ${s}`);

describe('docker streams on the real engine', {timeout: 90_000}, () => {
	before(async () => {
		dir = await mkdtemp(join(tmpdir(), `${project}-`));
		await writeFile(join(dir, 'compose.yaml'), composeYaml);
	});

	after(async () => {
		await compose('down', '-v', '--timeout', '1').catch(() => {});
		if (dir) await rm(dir, {recursive: true, force: true});
	});

	it('containerEvents sees the crash loop: create, die with exit 1, start again, restart count rising', async t => {
		const controller = new AbortController();
		t.after(() => controller.abort()); // also when an assertion fails first
		const seen: ContainerEvent[] = [];
		const restartCounts: number[] = [];
		let done!: () => void;
		const enough = new Promise<void>(resolve => (done = resolve));
		const consumer = (async () => {
			for await (const event of containerEvents(docker, {project, service: 'crash'}, controller.signal)) {
				seen.push(event);
				if (event.action === 'die') {
					restartCounts.push((await docker.getContainer(event.containerId).inspect()).RestartCount);
					if (restartCounts.length >= 3) done();
				}
			}
		})();
		await sleep(200); // subscribed before anything happens
		await compose('up', '-d', 'crash');
		await within(15_000, 'three exits of the crash loop', enough);
		const elapsed = await abortAndTime(controller, consumer);
		assert.ok(elapsed < 1000, `containerEvents took ${elapsed} ms to end after abort`);

		const actions = seen.map(e => e.action);
		assert.ok(actions.includes('create'), actions.join(' '));
		const dies = seen.filter(e => e.action === 'die');
		const starts = seen.filter(e => e.action === 'start');
		assert.ok(dies.length >= 3 && starts.length >= 3, actions.join(' '));
		for (const die of dies) {
			assert.equal(die.exitCode, 1);
			assert.equal(die.service, 'crash');
			assert.equal(die.name, `${project}-crash-1`);
			assert.equal(die.health, null);
		}
		assert.equal(starts[0]?.exitCode, null);
		for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.time >= seen[i - 1]!.time, 'events in time order');
		// The restart policy restarts without a "restart" event: the count shows it.
		for (let i = 1; i < restartCounts.length; i++) assert.ok(restartCounts[i]! > restartCounts[i - 1]!, restartCounts.join(' '));
		await compose('stop', '-t', '0', 'crash');
	});

	it('watchContainerEvents reports health, reconnects after a drop and replays the gap once', async t => {
		const controller = new AbortController();
		t.after(() => controller.abort()); // also when an assertion fails first
		const streams: IncomingMessage[] = [];
		let release!: () => void;
		const gate = new Promise<void>(resolve => (release = resolve));
		// The real engine, with a hand on the event stream: the second connection waits for `gate`.
		const flaky = Object.create(docker) as Docker;
		flaky.getEvents = (async (options: Docker.GetEventsOptions) => {
			if (streams.length === 1) await gate;
			const stream = (await docker.getEvents(options)) as IncomingMessage;
			streams.push(stream);
			return stream;
		}) as Docker['getEvents'];

		const events: ContainerEvent[] = [];
		const states: Array<[EventStreamState, unknown]> = [];
		const keys = new Set<string>();
		const duplicates: string[] = [];
		let wake = () => {};
		const watching = watchContainerEvents(flaky, {project}, controller.signal, {
			onEvent(event) {
				const key = `${event.time}:${event.containerId}:${event.action}:${event.health}`;
				if (keys.has(key)) duplicates.push(key);
				keys.add(key);
				events.push(event);
				wake();
			},
			onState(state, error) {
				states.push([state, error]);
				wake();
			},
		});
		const until = (what: string, test: () => boolean) =>
			within(15_000, what, new Promise<void>(resolve => {
				wake = () => test() && resolve();
				wake();
			}));

		await until('live', () => states.length > 0);
		await compose('up', '-d', 'mixed');
		await until('healthy', () => events.some(e => e.service === 'mixed' && e.action === 'health_status' && e.health === 'healthy'));

		const dropped = Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET'});
		streams[0]!.destroy(dropped);
		await until('reconnecting', () => states.some(([state]) => state === 'reconnecting'));
		// Happens while nobody listens.
		await compose('pause', 'mixed');
		await compose('unpause', 'mixed');
		await sleep(100);
		release();
		await until('pause and unpause replayed', () =>
			events.some(e => e.action === 'pause') && events.some(e => e.action === 'unpause'),
		);
		assert.deepEqual(states.map(([state]) => state), ['live', 'reconnecting', 'live']);
		const error = states[1]![1];
		assert.ok(error instanceof EngineStreamError, String(error));
		assert.match(error.message, /lost the event stream from the Docker Engine at unix:\/\/.*ECONNRESET/);
		assert.deepEqual(duplicates, [], 'the replayed boundary event is not delivered twice');
		const health = events.find(e => e.action === 'health_status');
		assert.equal(health?.name, `${project}-mixed-1`);

		const start = performance.now();
		controller.abort();
		await within(2000, 'watch to resolve', watching);
		assert.ok(performance.now() - start < 1000);
	});

	it('containerLogs splits stdout and stderr into whole lines with their times', async t => {
		const controller = new AbortController();
		t.after(() => controller.abort());
		await compose('up', '-d', 'mixed');
		const id = await containerId('mixed');
		const lines: LogLine[] = [];
		await within(10_000, 'mixed to print done', (async () => {
			for await (const line of containerLogs(docker, id, {tail: 'all'}, controller.signal)) {
				lines.push(line);
				if (line.text === 'done') break; // leaving the loop closes the stream
			}
		})());
		const text = (stream: string) => lines.filter(l => l.stream === stream).map(l => l.text);
		assert.deepEqual(text('stderr'), ['err-1', 'err-2']);
		assert.deepEqual(text('stdout'), ['out-1', 'out-2', 'ünïcode ✓', 'y'.repeat(40_000), 'no newline yet - then one', 'done']);
		for (const line of lines) {
			assert.match(line.time ?? '', rfc3339);
			assert.ok(timeToNs(line.time!)! > 0n);
		}
		// Each stream is in time order; across the two, the Engine's order may differ by microseconds.
		for (const stream of ['stdout', 'stderr']) {
			const times = lines.filter(l => l.stream === stream).map(l => l.time!);
			assert.deepEqual(times, [...times].sort(), `${stream} lines in time order`);
		}

		// Not following: the same lines, and the iterable ends by itself.
		const again: LogLine[] = [];
		for await (const line of containerLogs(docker, id, {tail: 'all', follow: false}, controller.signal)) again.push(line);
		assert.deepEqual(again, lines);

		// Without timestamps, and with a tail.
		const tail: LogLine[] = [];
		for await (const line of containerLogs(docker, id, {tail: 2, follow: false, timestamps: false}, controller.signal)) tail.push(line);
		assert.deepEqual(tail, [
			{stream: 'stdout', time: null, text: 'no newline yet - then one'},
			{stream: 'stdout', time: null, text: 'done'},
		]);

		// Following a quiet container, then aborting.
		const following = (async () => {
			let count = 0;
			for await (const _ of containerLogs(docker, id, {tail: 1}, controller.signal)) count++;
			return count;
		})();
		await sleep(300);
		const elapsed = await abortAndTime(controller, following);
		assert.equal(await following, 1);
		assert.ok(elapsed < 1000, `containerLogs took ${elapsed} ms to end after abort`);
	});

	it('containerLogs reads a TTY container raw: all stdout, no carriage returns, long lines whole', async () => {
		await compose('up', '-d', 'tty');
		const id = await containerId('tty');
		const lines: LogLine[] = [];
		await within(10_000, 'tty to print tty-done', (async () => {
			for await (const line of containerLogs(docker, id, {tail: 'all'}, AbortSignal.timeout(10_000))) {
				lines.push(line);
				if (line.text === 'tty-done') break;
			}
		})());
		assert.deepEqual(lines.map(l => l.text), ['tty-1', 'tty-err', 'x'.repeat(40_000), 'tty-done']);
		assert.ok(lines.every(l => l.stream === 'stdout' && rfc3339.test(l.time ?? '')));
	});

	it('containerLogBatches delivers a 50,000-line flood complete and in order', async t => {
		const controller = new AbortController();
		t.after(() => controller.abort());
		await compose('up', '-d', 'flood');
		const id = await containerId('flood');
		let count = 0;
		let batches = 0;
		let outOfOrder = 0;
		let first = 0;
		let firstTime = '';
		let lastTime = '';
		await within(30_000, 'the flood to arrive', (async () => {
			for await (const batch of containerLogBatches(docker, id, {tail: 'all'}, controller.signal)) {
				if (batches++ === 0) first = performance.now();
				for (const line of batch) {
					count++;
					if (line.text !== `flood ${count}`) outOfOrder++;
					firstTime ||= line.time!;
					lastTime = line.time!;
				}
				if (count >= 50_000) break;
			}
		})());
		const seconds = (performance.now() - first) / 1000;
		const engineSeconds = Number((timeToNs(lastTime)! - timeToNs(firstTime)!) / 1000n) / 1e6;
		assert.equal(count, 50_000);
		assert.equal(outOfOrder, 0);

		// The same lines again from the finished log: our parsing rate, not the container's.
		const start = performance.now();
		let again = 0;
		let last = '';
		for await (const batch of containerLogBatches(docker, id, {tail: 'all', follow: false}, controller.signal)) {
			again += batch.length;
			last = batch.at(-1)?.text ?? last;
		}
		const readSeconds = (performance.now() - start) / 1000;
		assert.equal(again, 50_000);
		assert.equal(last, 'flood 50000');
		t.diagnostic(
			`flood: received ${count} lines in ${batches} batches over ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} lines/s` +
				` (the engine logged them over ${engineSeconds.toFixed(2)} s = ${Math.round(count / engineSeconds)} lines/s);` +
				` re-read of the finished log: ${Math.round(again / readSeconds)} lines/s`,
		);
		await compose('stop', '-t', '0', 'flood');
	});

	it('followServiceLogs follows a crash loop across restarts and switches after a recreate', async t => {
		const controller = new AbortController();
		t.after(() => controller.abort()); // also when an assertion fails first
		const out: LogLine[] = [];
		let wake = () => {};
		// Started before the service exists: it waits for the container.
		const following = (async () => {
			for await (const batch of followServiceLogs(docker, {project, service: 'follow'}, {tail: 200}, controller.signal)) {
				out.push(...batch);
				wake();
			}
		})();
		const until = (what: string, test: () => boolean) =>
			within(20_000, what, new Promise<void>(resolve => {
				wake = () => test() && resolve();
				wake();
			})).catch((error: unknown) => {
				t.diagnostic(out.map(l => `${l.time} ${l.stream} ${l.text}`).join('\n'));
				throw error;
			});
		const has = (text: string, from = 0) => out.slice(from).some(l => l.text === text && !l.marker);

		await sleep(300);
		await compose('up', '-d', 'follow');
		await until('three runs', () => wholeRun(3).every(text => has(text)));
		const oldId = await containerId('follow');

		await compose('up', '-d', '--force-recreate', '--timeout', '1', 'follow');
		const switched = () => out.findIndex(l => l.marker && /switched to container/.test(l.text));
		await until('the switch and the new container\'s first run', () =>
			switched() !== -1 && wholeRun(1).every(text => has(text, switched())),
		);
		const newId = await containerId('follow');
		assert.notEqual(newId, oldId);
		const elapsed = await abortAndTime(controller, following);
		assert.ok(elapsed < 1000, `followServiceLogs took ${elapsed} ms to end after abort`);

		const at = switched();
		assert.equal(out[at]!.text, `── switched to container ${project}-follow-1 ──`);
		assert.equal(out[at]!.stream, 'stderr');

		// Before the switch: runs in order, each complete once, one restart marker between runs.
		const runs = checkRuns(out.slice(0, at), `${project}-follow-1`, '1', 3);
		t.diagnostic(`followed ${runs} runs of the old container`);
		const keys = out.filter(l => !l.marker).map(l => `${l.time} ${l.text}`);
		assert.equal(new Set(keys).size, keys.length, 'nothing twice across the switch');

		// After the switch: the new container's lines, from its start.
		const created = timeToNs((await docker.getContainer(newId).inspect()).Created)!;
		const afterSwitch = out.slice(at + 1).filter(l => !l.marker);
		assert.equal(afterSwitch[0]?.text.startsWith('run 1 '), true, afterSwitch[0]?.text);
		for (const line of afterSwitch) assert.ok(timeToNs(line.time!)! >= created, line.text);
		await compose('stop', '-t', '0', 'follow');
	});

	it('followServiceLogs keeps up by polling when the event stream is down', async t => {
		const controller = new AbortController();
		t.after(() => controller.abort());
		const refusing = Object.create(docker) as Docker;
		refusing.getEvents = (async () => {
			throw Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'});
		}) as Docker['getEvents'];
		await compose('up', '-d', 'poll');
		const out: LogLine[] = [];
		const following = (async () => {
			for await (const batch of followServiceLogs(refusing, {project, service: 'poll'}, {tail: 'all', pollMs: 200}, controller.signal)) {
				out.push(...batch);
				if (wholeRun(3).every(text => out.some(l => l.text === text))) break;
			}
		})();
		await within(20_000, 'three runs by polling', following);
		// Without die events the exit code comes from inspect, when it saw the container down.
		// Runs that start and end between two polls cannot be told apart: markers are best effort.
		checkRuns(out, `${project}-poll-1`, '(?:1|\\?)', 3, false);
		assert.ok(out.some(l => l.marker));
		t.diagnostic(`by polling: ${out.map(l => (l.marker ? l.text.replace(/container \S+ /, '') : l.text.replace('run ', ''))).join(' | ')}`);
		await compose('stop', '-t', '0', 'poll');
	});

	it('followServiceLogs ends promptly when aborted while waiting for a container', async t => {
		const controller = new AbortController();
		t.after(() => controller.abort()); // also when an assertion fails first
		const following = (async () => {
			for await (const _ of followServiceLogs(docker, {project, service: 'absent'}, {}, controller.signal)) {
				// nothing to read
			}
		})();
		await sleep(700);
		const elapsed = await abortAndTime(controller, following);
		assert.ok(elapsed < 1000, `took ${elapsed} ms`);
	});
});

// The parsers alone, on byte streams cut at every size: no engine needed.
describe('stream parsing across chunk boundaries', () => {
	const ts = (i: number) => `2026-01-02T03:04:05.${String(i).padStart(9, '0')}Z`;
	function frame(stream: 1 | 2, payload: string): Buffer {
		const body = Buffer.from(payload);
		const header = Buffer.alloc(8);
		header[0] = stream;
		header.writeUInt32BE(body.length, 4);
		return Buffer.concat([header, body]);
	}
	function cut(bytes: Buffer, size: number): Buffer[] {
		const chunks: Buffer[] = [];
		for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
		return chunks;
	}
	/** A Docker whose streams replay `chunks`, one chunk per read (through dockerode's dial: no socket to read straight off). */
	function fake(chunks: Buffer[], tty = false): Docker {
		const stream = () => {
			let next = 0;
			return new Readable({
				read() {
					this.push(chunks[next++] ?? null);
				},
			});
		};
		return {
			modem: {dial: (_: unknown, done: (error: null, result: unknown) => void) => done(null, stream())},
			getContainer: () => ({inspect: async () => ({Config: {Tty: tty}})}),
			getEvents: async () => stream(),
		} as unknown as Docker;
	}
	const sizes = [1, 2, 3, 5, 8, 13, 64, 1 << 20];

	it('demultiplexes frames, joins split messages and decodes UTF-8 split anywhere', async () => {
		const bytes = Buffer.concat([
			frame(1, `${ts(1)} hello\n`),
			frame(2, `${ts(2)} oops ✓\n`),
			// json-file splits long messages at 16 KiB; each part repeats the timestamp.
			frame(1, `${ts(3)} ${'a'.repeat(20)}`),
			frame(1, `${ts(3)} ${'b'.repeat(5)}\n`),
			frame(1, `${ts(4)} part-`),
			frame(2, `${ts(5)} between\n`),
			frame(1, `${ts(4)} end\n`),
			frame(1, `${ts(6)} crlf\r\n`),
			frame(1, `${ts(7)} \n`),
			frame(2, `${ts(8)} no newline at the end`),
		]);
		const expected: LogLine[] = [
			{stream: 'stdout', time: ts(1), text: 'hello'},
			{stream: 'stderr', time: ts(2), text: 'oops ✓'},
			{stream: 'stdout', time: ts(3), text: `${'a'.repeat(20)}${'b'.repeat(5)}`},
			{stream: 'stderr', time: ts(5), text: 'between'},
			{stream: 'stdout', time: ts(4), text: 'part-end'},
			{stream: 'stdout', time: ts(6), text: 'crlf'},
			{stream: 'stdout', time: ts(7), text: ''},
			{stream: 'stderr', time: ts(8), text: 'no newline at the end'},
		];
		for (const size of sizes) {
			const lines: LogLine[] = [];
			for await (const line of containerLogs(fake(cut(bytes, size)), 'c', {follow: false}, AbortSignal.timeout(5000))) lines.push(line);
			assert.deepEqual(lines, expected, `chunks of ${size}`);
		}
	});

	it('reads a TTY stream raw, removing the timestamps of split parts', async () => {
		const long = `${'x'.repeat(16_384)}${ts(2)} ${'x'.repeat(100)}`;
		const bytes = Buffer.from(`${ts(1)} héllo\r\n${ts(2)} ${long}\r\n${ts(3)} last`);
		for (const size of [1, 7, 64, 1 << 20]) {
			const lines: LogLine[] = [];
			for await (const line of containerLogs(fake(cut(bytes, size), true), 'c', {follow: false}, AbortSignal.timeout(5000))) lines.push(line);
			assert.deepEqual(
				lines,
				[
					{stream: 'stdout', time: ts(1), text: 'héllo'},
					{stream: 'stdout', time: ts(2), text: 'x'.repeat(16_484)},
					{stream: 'stdout', time: ts(3), text: 'last'},
				],
				`chunks of ${size}`,
			);
		}
	});

	it('parses events split anywhere and several to a chunk, then reports the closed stream', async () => {
		const event = (action: string, timeNano: string, attributes: Record<string, string>) =>
			JSON.stringify({
				status: action,
				id: 'c1',
				Type: 'container',
				Action: action,
				Actor: {ID: 'c1', Attributes: {name: 'p-api-1', 'com.docker.compose.service': 'api', ...attributes}},
				scope: 'local',
				time: Number(timeNano.slice(0, 10)),
				timeNano: Number(timeNano),
			}).replace(/"timeNano":\d+(\.\d+)?(e\+\d+)?/, `"timeNano":${timeNano}`);
		const text = [
			event('die', '1795317466780653123', {exitCode: '137'}),
			event('exec_start: sh -c true', '1795317466780653200', {}),
			event('health_status: unhealthy', '1795317466999999999', {}),
			event('start', '1795317467000000001', {}),
		].join('\n') + '\n';
		for (const size of sizes) {
			const seen: ContainerEvent[] = [];
			await assert.rejects(
				(async () => {
					for await (const e of containerEvents(fake(cut(Buffer.from(text), size)), {project: 'p'}, AbortSignal.timeout(5000))) seen.push(e);
				})(),
				(error: unknown) => error instanceof EngineStreamError && /the Docker Engine at \S+ closed the event stream/.test(error.message),
			);
			assert.deepEqual(seen, [
				{time: 1795317466780, action: 'die', containerId: 'c1', name: 'p-api-1', service: 'api', exitCode: 137, health: null},
				{time: 1795317466999, action: 'health_status', containerId: 'c1', name: 'p-api-1', service: 'api', exitCode: null, health: 'unhealthy'},
				{time: 1795317467000, action: 'start', containerId: 'c1', name: 'p-api-1', service: 'api', exitCode: null, health: null},
			], `chunks of ${size}`);
		}
	});

	it('parses RFC 3339 times to nanoseconds', () => {
		assert.equal(timeToNs('2026-11-22T03:40:32.85374852Z'), 1795318832853748520n);
		assert.equal(timeToNs('2026-11-22T03:40:32.853748520Z'), 1795318832853748520n);
		assert.equal(timeToNs('2026-11-22T04:40:32.1+01:00'), 1795318832100000000n);
		assert.equal(timeToNs('2026-11-22T03:40:32Z'), 1795318832000000000n);
		assert.equal(timeToNs('yesterday'), null);
	});
});
