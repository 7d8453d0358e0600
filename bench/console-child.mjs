// The console as its own process, for bench/console.ts: the built model and App rendered by
// Ink into a fake 120×40 terminal, so its memory is the console's alone. Talks over IPC:
// in: {type: 'key', key} · out: {type: 'ready'} {type: 'stats', received, rss, peakRss, heap…} {type: 'latency', ms}
// On stop it prints where a key's time can go: Ink's render times and the event loop's delay.
import {PassThrough, Writable} from 'node:stream';
import {readFileSync} from 'node:fs';
import {leanUiImports} from '../dist/source/console/lean-ui-imports.js';

// As the console's run() does before it loads the UI.
leanUiImports();
const {createElement} = await import('react');
const {render} = await import('ink');
const {openConsole} = await import('../dist/source/console/open-console.js');
const {App} = await import('../dist/source/ui/app.js');

const [projectDir, stateDir, service] = process.argv.slice(2);
const opened = await openConsole({projectDir, stateDir, readOnly: false, color: false, json: false, yes: false, redact: true});
const stdout = Object.assign(new Writable({write: (_chunk, _encoding, callback) => callback()}), {isTTY: true, columns: 120, rows: 40});
const stdin = Object.assign(new PassThrough(), {isTTY: true, setRawMode() {}, ref() {}, unref() {}});
let pressed = null;
const renders = [];
const {monitorEventLoopDelay} = await import('node:perf_hooks');
const loop = monitorEventLoopDelay({resolution: 5});
loop.enable();
const ink = render(createElement(App, {model: opened.model, color: false}), {
	stdout,
	stdin,
	interactive: true,
	maxFps: 60,
	incrementalRendering: true,
	exitOnCtrlC: false,
	patchConsole: false,
	onRender({renderTime}) {
		renders.push(renderTime);
		if (pressed !== null) {
			process.send({type: 'latency', ms: performance.now() - pressed});
			pressed = null;
		}
	},
});

// VmHWM: the kernel's own peak resident set size for this process.
const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
// The intake every 20 ms; what the memory is made of every 100 ms (process.memoryUsage() walks
// the heap's spaces: every 20 ms it cost the console ~1% of its CPU, and key latency with it).
let tick = 0;
let memory = process.memoryUsage();
const timer = setInterval(() => {
	if (tick++ % 5 === 0) memory = {...process.memoryUsage(), peakRss: peakRss()};
	const {rss, heapTotal, heapUsed, external, arrayBuffers, peakRss: peak} = memory;
	process.send({type: 'stats', received: opened.model.logs.receivedBy(service), rss, peakRss: peak, heapTotal, heapUsed, external, arrayBuffers});
}, 20);

process.on('message', message => {
	if (message.type === 'key') {
		pressed = performance.now();
		stdin.write(message.key);
	} else if (message.type === 'stop') {
		clearInterval(timer);
		const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(a.length * p)]?.toFixed(1);
		process.stderr.write(`  where a key's time goes: ${renders.length} renders (Ink's output phase), median ${q(renders, 0.5)} p95 ${q(renders, 0.95)} max ${Math.max(...renders).toFixed(1)} ms; loop delay p50 ${(loop.percentile(50) / 1e6).toFixed(1)} p95 ${(loop.percentile(95) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(1)} ms\n`);
		ink.unmount();
		opened.close();
		process.exit(0);
	}
});
process.send({type: 'ready', baselineRss: process.memoryUsage().rss});
