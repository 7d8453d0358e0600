// The console under a log flood, measured side by side in one run:
//  - log ingestion: lines per second taken in by the logs pane vs `docker logs -f` of the
//    same container to /dev/null (goal ≥ 0.9×), while the console renders for real;
//  - peak RSS of the console process (VmHWM) during the flood (goal < 150 MB);
//  - key-to-frame latency during the flood (goal < 100 ms).
import {execFileSync, fork, spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {median} from './measure.js';

// 6 s: `yes` outruns the Engine's log reader, and the bench waits for both readers to drain the backlog.
const floodSeconds = Number(process.env['BENCH_FLOOD_SECONDS'] ?? 6);
// The console's process gets the node flags of the bin's #! line (dist/cli.js), as an operator's
// does; BENCH_CONSOLE_FLAGS='…' tries others.
const shebang = readFileSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'utf8').split('\n', 1)[0]!;
const binFlags = /^#!.*\bnode((?:\s+--\S+)*)\s*$/.exec(shebang)?.[1] ?? '';
const childFlags = (process.env['BENCH_CONSOLE_FLAGS'] ?? binFlags).split(' ').filter(Boolean);
const flood = `
services:
  flood:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    command: ["sh", "-c", "while [ ! -f /tmp/go ]; do sleep 0.05; done; timeout ${floodSeconds} yes 'flood 0123456789 abcdefghijklmnopqrstuvwxyz 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ'; sleep 3600"]
`;
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

await ensureTestReleases();
const stack = await createStack({tag: 'v1.3.9', withDb: false, extraCompose: flood});
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-bench-'));
try {
	await stack.up({wait: true});
	const container = `${stack.projectName}-flood-1`;

	type Stats = {received: number; rss: number; peakRss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number};
	type Message = {type: 'ready'; baselineRss: number} | ({type: 'stats'} & Stats) | {type: 'latency'; ms: number};
	const child = fork(fileURLToPath(new URL('console-child.mjs', import.meta.url)), [stack.dir, stateDir, 'flood'], {
		execArgv: childFlags,
		// With flags (say --trace-gc), what V8 prints comes through.
		stdio: ['ignore', childFlags.length > 0 ? 'inherit' : 'ignore', 'inherit', 'ipc'],
	});
	let ours = 0;
	let oursLast = 0;
	let baselineRss = 0;
	let peakRss = 0;
	// What the memory was made of when the resident set was largest (process.memoryUsage, every 20 ms).
	let atPeak = null as Stats | null;
	const latencies: number[] = [];
	const ready = new Promise<void>(resolve => {
		child.on('message', (message: Message) => {
			if (message.type === 'ready') {
				baselineRss = message.baselineRss;
				resolve();
			} else if (message.type === 'stats') {
				if (message.received !== ours) {
					ours = message.received;
					oursLast = performance.now();
				}
				peakRss = message.peakRss;
				if (!atPeak || message.rss > atPeak.rss) atPeak = message;
			} else {
				latencies.push(message.ms);
			}
		});
	});
	await ready;

	let theirs = 0;
	let theirsLast = 0;
	const logs = spawn('docker', ['logs', '-f', '--tail', '0', container], {stdio: ['ignore', 'pipe', 'ignore']});
	logs.stdout.on('data', (chunk: Buffer) => {
		for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) theirs++;
		theirsLast = performance.now();
	});

	await sleep(1500); // both attached
	const start = performance.now();
	execFileSync('docker', ['exec', container, 'touch', '/tmp/go']);
	while (performance.now() - start < floodSeconds * 1000) {
		await sleep(300);
		child.send({type: 'key', key: 't'});
	}
	let stable = 0;
	let before = [ours, theirs];
	while (stable < 15) {
		await sleep(100);
		stable = ours === before[0] && theirs === before[1] ? stable + 1 : 0;
		before = [ours, theirs];
	}
	child.send({type: 'stop'});
	logs.kill();

	const oursRate = ours / ((oursLast - start) / 1000);
	const theirsRate = theirs / ((theirsLast - start) / 1000);
	const sorted = [...latencies].sort((a, b) => a - b);
	console.log(`flood: ${floodSeconds} s of \`yes\` in one container, the console in its own process (built dist/${childFlags.length > 0 ? `, ${childFlags.join(' ')}` : ''})`);
	console.log(`logs pane        took in ${ours} lines, ${Math.round(oursRate)} lines/s`);
	console.log(`docker logs -f   took in ${theirs} lines, ${Math.round(theirsRate)} lines/s`);
	console.log(`ingestion ratio (ours / docker logs -f): ${(oursRate / theirsRate).toFixed(2)}  (goal ≥ 1.00)`);
	console.log(`console RSS: ${(baselineRss / 1e6).toFixed(0)} MB before, peak ${(peakRss / 1e6).toFixed(0)} MB during the flood  (goal < 150 MB)`);
	const mb = (bytes: number | undefined) => `${((bytes ?? 0) / 1e6).toFixed(0)} MB`;
	console.log(`  at the largest sample: rss ${mb(atPeak?.rss)} = V8 heap ${mb(atPeak?.heapTotal)} (used ${mb(atPeak?.heapUsed)}) + external ${mb(atPeak?.external)} (array buffers ${mb(atPeak?.arrayBuffers)}) + code, stacks, the rest`);
	console.log(
		`key-to-frame latency during the flood: median ${median(latencies).toFixed(0)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)]?.toFixed(0)} ms over ${latencies.length} keys  (goal < 100 ms)`,
	);
} finally {
	await stack.down();
	rmSync(stateDir, {recursive: true, force: true});
}
