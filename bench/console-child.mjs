// The console as its own process, for bench/console.ts: the built model and App rendered by
// Ink into a fake 120×40 terminal, so its memory is the console's alone. Talks over IPC:
// in: {type: 'key', key} · out: {type: 'ready'} {type: 'stats', received, rss, peakRss} {type: 'latency', ms}
import {PassThrough, Writable} from 'node:stream';
import {readFileSync} from 'node:fs';
import {createElement} from 'react';
import {render} from 'ink';
import {openConsole} from '../dist/source/console/open-console.js';
import {App} from '../dist/source/ui/app.js';

const [projectDir, stateDir, service] = process.argv.slice(2);
const opened = await openConsole({projectDir, stateDir, readOnly: false, color: false, json: false, yes: false, redact: true});
const stdout = Object.assign(new Writable({write: (_chunk, _encoding, callback) => callback()}), {isTTY: true, columns: 120, rows: 40});
const stdin = Object.assign(new PassThrough(), {isTTY: true, setRawMode() {}, ref() {}, unref() {}});
let pressed = null;
const ink = render(createElement(App, {model: opened.model, color: false}), {
	stdout,
	stdin,
	interactive: true,
	maxFps: 20,
	incrementalRendering: true,
	exitOnCtrlC: false,
	patchConsole: false,
	onRender() {
		if (pressed !== null) {
			process.send({type: 'latency', ms: performance.now() - pressed});
			pressed = null;
		}
	},
});

// VmHWM: the kernel's own peak resident set size for this process.
const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
const timer = setInterval(() => {
	process.send({type: 'stats', received: opened.model.logs.receivedBy(service), rss: process.memoryUsage().rss, peakRss: peakRss()});
}, 20);

process.on('message', message => {
	if (message.type === 'key') {
		pressed = performance.now();
		stdin.write(message.key);
	} else if (message.type === 'stop') {
		clearInterval(timer);
		ink.unmount();
		opened.close();
		process.exit(0);
	}
});
process.send({type: 'ready', baselineRss: process.memoryUsage().rss});
