import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {afterEach, test} from 'node:test';
import {render} from 'ink-testing-library';
import {App} from '../../source/ui/app.js';
import {fakeModel, frameWhere, serviceRow} from '../support/fake-model.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

const PAGE_UP = '\u001B[5~';
const PAGE_DOWN = '\u001B[6~';
const HOME = '\u001B[H';
const END = '\u001B[F';

async function started(size = {columns: 100, rows: 30}, services = [serviceRow('web', {state: 'restarting', ok: false, restartCount: 3, exitCode: 2})]) {
	const fake = await fakeModel({services});
	const ui = render(<App model={fake.model} size={size} color={false} logRedrawMs={0} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	await frameWhere(ui.lastFrame, f => f.includes('Services'));
	return {fake, ui};
}

const numbered = (from: number, to: number) =>
	Array.from({length: to - from + 1}, (_, i) => ({stream: 'stdout' as const, time: null, text: `line ${String(from + i).padStart(4, '0')}`}));

test('at 80×24 the services table keeps SERVICE, STATE, TAG and RESTARTS; wider shows more', async () => {
	const services = [
		serviceRow('web', {state: 'restarting', ok: false, restartCount: 7, exitCode: 2, image: {configured: null, tag: 'v1.4.0', id: null, digest: null}}),
		serviceRow('worker', {image: {configured: null, tag: 'v1.4.0', id: null, digest: null}}),
	];
	const {ui} = await started({columns: 80, rows: 24}, services);
	const frame = ui.lastFrame()!;
	const header = frame.split('\n').find(line => line.includes('SERVICE'))!;
	for (const title of ['SERVICE', 'STATE', 'TAG', 'RESTARTS']) assert.ok(header.includes(title), `${title} in ${header}`);
	assert.ok(!header.includes('…'), 'no title is cut');
	assert.match(frame, /› web\s+restarting.*v1\.4\.0/);
	assert.ok(frame.split('\n').length <= 23, 'the frame stays a row short of the terminal');

	const wide = await started({columns: 140, rows: 30}, services);
	const wideHeader = wide.ui.lastFrame()!.split('\n').find(line => line.includes('SERVICE'))!;
	for (const title of ['HEALTH', 'EXIT', 'UPTIME']) assert.ok(wideHeader.includes(title), `${title} in ${wideHeader}`);
});

test('PgUp/PgDn scroll the logs with a position, Home goes to the oldest kept line, End follows again', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', numbered(1, 5000));
	await frameWhere(ui.lastFrame, f => f.includes('line 5000') && f.includes('following'));
	ui.stdin.write(PAGE_UP);
	let frame = await frameWhere(ui.lastFrame, f => f.includes('paused') && /lines \d+–\d+ of 5000/.test(f));
	assert.ok(!frame.includes('line 5000'), 'scrolled up a page');
	const [, first, last] = /lines (\d+)–(\d+) of 5000/.exec(frame)!;
	const row = (n: number) => `line ${String(n).padStart(4, '0')}`;
	assert.ok(frame.includes(row(Number(first))), `${row(Number(first))} shows`);
	assert.ok(frame.includes(row(Number(last))), `${row(Number(last))} shows`);
	assert.ok(!frame.includes(row(Number(last) + 1)), `nothing after the last line shows:\n${frame}`);
	// Arriving lines do not move a scrolled view (the ring drops its oldest three, so the count shrinks).
	fake.model.logs.append('web', numbered(5001, 5003));
	await new Promise(resolve => setTimeout(resolve, 50));
	frame = ui.lastFrame()!;
	assert.ok(frame.includes(row(Number(first))) && frame.includes(row(Number(last))) && !frame.includes(row(Number(last) + 1)), frame);
	// Home: the oldest line the ring still keeps (5,000 per service: lines 1–3 were dropped).
	ui.stdin.write(HOME);
	frame = await frameWhere(ui.lastFrame, f => /lines 1–\d+ of 4997/.test(f));
	assert.match(frame, /line 0004/);
	ui.stdin.write(PAGE_DOWN);
	await frameWhere(ui.lastFrame, f => /lines \d+–\d+ of 4997/.test(f) && !f.includes('line 0004'));
	ui.stdin.write(END);
	await frameWhere(ui.lastFrame, f => f.includes('line 5003') && f.includes('following'));
});

test('n and N step through the filter matches', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', Array.from({length: 200}, (_, i) => ({stream: 'stdout' as const, time: null, text: i % 10 === 0 ? `ERROR number ${i}` : `ok ${i}`})));
	await frameWhere(ui.lastFrame, f => f.includes('ok 199'));
	ui.stdin.write('/');
	for (const ch of 'ERROR') ui.stdin.write(ch);
	ui.stdin.write('\r');
	await frameWhere(ui.lastFrame, f => f.includes('ERROR number 190') && !f.includes('ok 199'));
	for (let i = 0; i < 15; i++) ui.stdin.write('n');
	const frame = await frameWhere(ui.lastFrame, f => /lines \d+–\d+ of 20/.test(f) && !f.includes('ERROR number 190'));
	assert.match(frame, /ERROR number 0/);
	ui.stdin.write('N');
	await frameWhere(ui.lastFrame, f => f.includes('ERROR number 190') === false && /lines \d+–\d+ of 20/.test(f));
});

test('secrets in log lines are masked on screen; u shows them and the timeline records it', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', [
		{stream: 'stdout', time: null, text: 'connecting to postgres://app:hunter2secret@127.0.0.1:5432/shop'},
		{stream: 'stdout', time: null, text: 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def'},
	]);
	let frame = await frameWhere(ui.lastFrame, f => f.includes('connecting to'));
	assert.ok(!frame.includes('hunter2secret'), 'the password is masked');
	assert.ok(!frame.includes('eyJhbGciOiJIUzI1NiJ9'), 'the token is masked');
	assert.match(frame, /postgres:\/\/app:\*\*\*@127\.0\.0\.1/);
	ui.stdin.write('u');
	frame = await frameWhere(ui.lastFrame, f => f.includes('hunter2secret'));
	assert.match(frame, /SECRETS SHOWN/);
	const timeline = () => {
		try {
			return readFileSync(fake.model.timeline.file, 'utf8');
		} catch {
			return '';
		}
	};
	await frameWhere(timeline, text => text.includes('"secrets_revealed"'));
	ui.stdin.write('u');
	await frameWhere(ui.lastFrame, f => !f.includes('hunter2secret'));
	await frameWhere(timeline, text => text.includes('"secrets_hidden"'));
});

test('escape sequences in a log line never reach the terminal; an empty line keeps its row', async () => {
	const {fake, ui} = await started();
	fake.model.logs.append('web', [
		{stream: 'stdout', time: null, text: 'before'},
		{stream: 'stdout', time: null, text: ''},
		{stream: 'stdout', time: null, text: 'evil \u001B]0;pwned\u0007title \u001B[2J\u001B[Hclear \u001B[31mred\u001B[0m'},
	]);
	const frame = await frameWhere(ui.lastFrame, f => f.includes('evil'));
	assert.ok(!frame.includes('\u001B'), 'no ESC in the frame');
	assert.ok(!frame.includes('\u0007'), 'no BEL in the frame');
	assert.match(frame, /evil \]0;pwnedtitle \[2J\[Hclear \[31mred\[0m/);
	const rows = frame.split('\n');
	const before = rows.findIndex(r => r.includes('before'));
	assert.ok(rows[before + 2]!.includes('evil'), 'the empty line took a row');
});

test('the checklist follows what another writer (the rollback worker) records, within a second', async () => {
	const {fake, ui} = await started();
	await frameWhere(ui.lastFrame, f => /3 Stabilise\s+○/.test(f));
	const {Timeline} = await import('../../source/incident/timeline.js');
	const worker = await Timeline.open(fake.model.timeline.file, {operator: {user: 'worker', sshConnection: null, pid: 4242}});
	await worker.append('stabilise', 'step_status', {status: 'in-progress'});
	await frameWhere(ui.lastFrame, f => /3 Stabilise\s+◐/.test(f), 1500);
	await worker.append('stabilise', 'step_status', {status: 'done', reason: 'rollback to v1.3.9'});
	await frameWhere(ui.lastFrame, f => /3 Stabilise\s+●/.test(f), 1500);
});

test('a saved log path is shown whole at 80×24, and statuses are words', async () => {
	const {mkdtempSync, mkdirSync} = await import('node:fs');
	const os = await import('node:os');
	const path = await import('node:path');
	const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'rc-ui-')), 'var-lib-rollback-console', 'rollback-console-demo', 'incidents', '20261122-030000-abcd');
	mkdirSync(dir, {recursive: true});
	const fake = await fakeModel({dir, services: [serviceRow('web')]});
	const ui = render(<App model={fake.model} size={{columns: 80, rows: 24}} color={false} logRedrawMs={0} />);
	cleanups.push(() => ui.unmount(), fake.cleanup);
	let frame = await frameWhere(ui.lastFrame, f => f.includes('Services'));
	assert.match(frame, /Step 1 · Scope\s+not started/);
	fake.model.logs.append('web', numbered(1, 3));
	await frameWhere(ui.lastFrame, f => f.includes('line 0003'));
	ui.stdin.write('s');
	frame = await frameWhere(ui.lastFrame, f => f.includes('saved 3 lines to'));
	const file = [...fake.saved.values()][0]!;
	assert.ok(file.length > 80, 'the path is longer than a row');
	assert.ok(frame.replace(/\n/g, '').includes(file), `the whole path shows:\n${frame}`);
	assert.ok(frame.split('\n').length <= 23, 'the frame still fits');
});
