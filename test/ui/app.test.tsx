import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import {App} from '../../source/ui/app.js';
import {fakeModel, frameWhere, serviceRow} from '../support/fake-model.js';

const size = {columns: 100, rows: 30};
const cleanups: Array<() => void> = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

const tick = () => new Promise(resolve => setTimeout(resolve, 30));

test('the first frame names the failing service first', async () => {
	const fake = await fakeModel({
		services: [serviceRow('web', {state: 'restarting', restartCount: 7, exitCode: 2, ok: false, image: {configured: null, tag: 'v1.4.0', id: null, digest: null}}), serviceRow('db')],
	});
	const ui = render(<App model={fake.model} size={size} color={false} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	const frame = await frameWhere(ui.lastFrame, f => f.includes('Services'));
	assert.match(frame, /› web\s+restarting\s+none\s+7\s+2\s+v1\.4\.0/);
	assert.ok(frame.indexOf('web') < frame.indexOf('db'));
	assert.match(frame, /1 failing/);
	assert.match(frame, /› ?1 Scope/);
	assert.match(frame, /incident 20261122-030000-abcd/);
});

const logLines = (service: string, from: number, to: number) =>
	Array.from({length: to - from + 1}, (_, i) => ({stream: 'stdout' as const, time: `2026-11-22T03:00:${String((from + i) % 60).padStart(2, '0')}.000Z`, text: `${service} line ${from + i}`}));

async function started(services = [serviceRow('web', {state: 'restarting', ok: false, restartCount: 3, exitCode: 2}), serviceRow('worker'), serviceRow('db')]) {
	const fake = await fakeModel({services});
	const ui = render(<App model={fake.model} size={size} color={false} logRedrawMs={0} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	await frameWhere(ui.lastFrame, f => f.includes('Services'));
	return {fake, ui};
}

test('arrows and j/k move through the checklist; the step panel follows; enter opens the step, esc comes back', async () => {
	const {ui} = await started();
	ui.stdin.write('j');
	await frameWhere(ui.lastFrame, f => /› ?2 Capture evidence/.test(f) && f.includes('Step 2 · Capture evidence'));
	ui.stdin.write('\u001B[B');
	await frameWhere(ui.lastFrame, f => /› ?3 Stabilise/.test(f));
	ui.stdin.write('k');
	await frameWhere(ui.lastFrame, f => /› ?2 Capture evidence/.test(f));
	for (let i = 0; i < 10; i++) ui.stdin.write('j');
	await frameWhere(ui.lastFrame, f => /› ?7 Follow up/.test(f));
	ui.stdin.write('k');
	await frameWhere(ui.lastFrame, f => /› ?6 Verify/.test(f));
	ui.stdin.write('\r');
	const frame = await frameWhere(ui.lastFrame, f => f.includes('Step 6 · Verify') && !f.includes('Checklist'));
	assert.ok(!frame.includes('Not available in this version'), 'every step is built');
	await new Promise(resolve => setTimeout(resolve, 20));
	ui.stdin.write('\u001B');
	await frameWhere(ui.lastFrame, f => f.includes('Checklist'), 3000);
});

test('? shows every key and esc closes it', async () => {
	const {ui} = await started();
	ui.stdin.write('?');
	const help = await frameWhere(ui.lastFrame, f => f.includes('Keys'));
	for (const key of ['q, Ctrl+C', 'enter', 'tab, 1–9', 'f', 't', 'w', '/', 's', 'a']) assert.ok(help.includes(key), `help lists ${key}`);
	ui.stdin.write('?');
	await frameWhere(ui.lastFrame, f => f.includes('Checklist') && !f.includes('Keys'));
});

test('the logs pane follows the selected service; tab and digits switch; a interleaves', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', logLines('web', 1, 300));
	fake.model.logs.append('worker', logLines('worker', 1, 5));
	let frame = await frameWhere(ui.lastFrame, f => f.includes('web line 300'));
	assert.match(frame, /Logs: web/);
	assert.ok(!frame.includes('web line 1\n'), 'only the newest lines fit');
	ui.stdin.write('\t');
	frame = await frameWhere(ui.lastFrame, f => f.includes('Logs: worker'));
	assert.match(frame, /worker line 5/);
	assert.match(frame, /› worker/);
	ui.stdin.write('1');
	await frameWhere(ui.lastFrame, f => f.includes('Logs: web'));
	ui.stdin.write('a');
	frame = await frameWhere(ui.lastFrame, f => f.includes('Logs: all services'));
	assert.match(frame, /worker \| worker line 5/);
});

test('f pauses (new lines wait) and resumes; t shows timestamps; w wraps', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', logLines('web', 1, 10));
	await frameWhere(ui.lastFrame, f => f.includes('web line 10'));
	ui.stdin.write('f');
	await frameWhere(ui.lastFrame, f => f.includes('paused'));
	fake.model.logs.append('web', logLines('web', 11, 12));
	await new Promise(resolve => setTimeout(resolve, 60));
	assert.ok(!ui.lastFrame()!.includes('web line 12'), 'paused: the new line waits');
	ui.stdin.write('f');
	await frameWhere(ui.lastFrame, f => f.includes('web line 12') && f.includes('following'));
	ui.stdin.write('t');
	await frameWhere(ui.lastFrame, f => /03:00:12\.000 web line 12/.test(f));
	fake.model.logs.append('web', [{stream: 'stdout', time: null, text: `long ${'x'.repeat(150)} END`}]);
	await frameWhere(ui.lastFrame, f => f.includes('long xxx') && !f.includes('END'));
	ui.stdin.write('w');
	await frameWhere(ui.lastFrame, f => f.includes('END') && f.includes('wrap'));
});

test('/ filters live with a regex; esc clears it', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', [
		{stream: 'stdout', time: null, text: 'GET /health 200'},
		{stream: 'stderr', time: null, text: 'panic: runtime error'},
		{stream: 'stdout', time: null, text: 'GET /api 500'},
	]);
	await frameWhere(ui.lastFrame, f => f.includes('GET /api 500'));
	ui.stdin.write('/');
	for (const ch of 'panic|500') ui.stdin.write(ch);
	const frame = await frameWhere(ui.lastFrame, f => f.includes('/panic|500') && !f.includes('GET /health 200'));
	assert.match(frame, /panic: runtime error/);
	assert.match(frame, /GET \/api 500/);
	ui.stdin.write('q');
	await frameWhere(ui.lastFrame, f => f.includes('/panic|500q'));
	await new Promise(resolve => setTimeout(resolve, 20));
	ui.stdin.write('\u001B');
	await frameWhere(ui.lastFrame, f => f.includes('GET /health 200'), 3000);
});

test('s saves the visible lines into the incident, mode 0600', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', logLines('web', 1, 3));
	await frameWhere(ui.lastFrame, f => f.includes('web line 3'));
	ui.stdin.write('s');
	const frame = await frameWhere(ui.lastFrame, f => f.includes('saved 3 lines to'));
	const [name, file] = [...fake.saved][0]!;
	assert.match(name, /^logs\/web-\d{8}T\d{6}\.log$/);
	const {readFileSync, statSync} = await import('node:fs');
	assert.match(readFileSync(file, 'utf8'), /web stdout web line 1\n.*web line 2\n.*web line 3\n$/);
	assert.equal(statSync(file).mode & 0o777, 0o600);
	assert.ok(frame.includes(fake.dir));
});

test('a service whose restarts are rising is marked, and the header says when the event stream is down', async () => {
	const {fake, ui} = await started();
	fake.setServices([serviceRow('web', {state: 'restarting', ok: false, restartCount: 9, exitCode: 2})], {rising: new Set(['web']), mode: 'polling'});
	const frame = await frameWhere(ui.lastFrame, f => f.includes('9 ↑'));
	assert.match(frame, /polling \(event stream down\)/);
});

test('the frame fits 80×24 and every line fits the width', async () => {
	const fake = await fakeModel({services: [serviceRow('web', {state: 'exited', ok: false, exitCode: 137}), serviceRow('worker'), serviceRow('db'), serviceRow('cache'), serviceRow('proxy')]});
	fake.model.logs.append('web', logLines('web', 1, 500));
	const ui = render(<App model={fake.model} size={{columns: 80, rows: 24}} color={false} logRedrawMs={0} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	const frame = await frameWhere(ui.lastFrame, f => f.includes('web line 500'));
	const lines = frame.split('\n');
	assert.ok(lines.length <= 23, `frame is ${lines.length} rows`);
	for (const line of lines) assert.ok(line.length <= 80, `line too wide (${line.length}): ${line}`);
	assert.match(frame, /Step 1 · Scope/);
});

test('uptime ages on screen between events', async () => {
	const startedAt = new Date(Date.now() - 90_000).toISOString();
	const container = {name: 'shop-web-1', id: 'c1', state: 'running' as const, health: 'none' as const, restartCount: 0, exitCode: null, oomKilled: false, startedAt, uptimeSeconds: 1};
	const {ui} = await started([serviceRow('web', {containers: [container], uptimeSeconds: 1})]);
	await frameWhere(ui.lastFrame, f => /web\s+running.*1m3\ds/.test(f));
});
