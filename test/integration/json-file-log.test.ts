// The capture reads json-file logs from the Engine's own files: on a real engine it must hold
// exactly what the Engine serves for GET /logs?timestamps=1 (the capture's other way), for
// logs rotated and compressed by the driver, messages over 16 KiB, both streams, bytes that are
// not UTF-8, and a TTY container. A capture says which way it read each log.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {readdir, readFile} from 'node:fs/promises';
import path from 'node:path';
import {after, test} from 'node:test';
import {promisify} from 'node:util';
import {randomBytes} from 'node:crypto';
import {connectCaptureEngine} from '../../source/engine/evidence-http-engine.js';
import {jsonFileLogPath, jsonFileLogText, openJsonFileLog} from '../../source/engine/json-file-log.js';
import type {Manifest} from '../../source/incident/evidence/types.js';
import {runCli} from '../support/cli.js';
import {createStack, ensureTestReleases} from '../support/stack.js';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';

const execFileAsync = promisify(execFile);
const docker = async (...args: string[]) => (await execFileAsync('docker', args, {maxBuffer: 64 << 20})).stdout.trim();
const prefix = `rct-jsonlog-${randomBytes(3).toString('hex')}`;
const started: string[] = [];

after(async () => {
	if (started.length > 0) await docker('rm', '-f', ...started).catch(() => '');
});

// Both streams, a message over 16 KiB (json-file writes it in parts), CRLF, tabs and quotes,
// HTML characters Go escapes, bytes that are not UTF-8, control characters, and one last line without a newline.
const script = [
	'i=0; while [ $i -lt 300 ]; do echo "line $i token=abc123 <b>&amp;</b> \\"quoted\\" tab	here"; echo "err $i" >&2; i=$((i+1)); done',
	"printf 'bad utf8: \\377\\376 \\303\\050 ctrl \\001\\033[31m\\r\\n'",
	"head -c 40000 /dev/zero | tr '\\0' y; echo",
	"printf 'caf\\303\\251 \\342\\230\\225 emoji \\360\\237\\230\\200\\n'",
	"printf 'no newline at the end'",
].join('; ');

async function run(name: string, options: string[]): Promise<string> {
	const id = await docker('run', '-d', '--name', `${prefix}-${name}`, '--network', 'none', ...options, 'local/busybox:latest', 'sh', '-c', script);
	started.push(id);
	// Exited, so the log is whole, and the driver's compression of its rotated files done.
	await docker('wait', id);
	return id;
}

async function bothWays(id: string): Promise<{engine: string; file: string; files: string[]}> {
	const engine = await connectCaptureEngine();
	const inspect = await engine.inspectContainerRaw(id);
	const logPath = jsonFileLogPath(inspect);
	assert.ok(logPath, 'a json-file log of the container');
	const tty = Boolean((inspect?.['Config'] as {Tty?: boolean}).Tty);
	let fromEngine = '';
	for await (const block of engine.containerLogText!(id, new AbortController().signal, {tty})) fromEngine += block;
	const opened = await openJsonFileLog(logPath);
	assert.ok(opened, `${logPath} opened`);
	let fromFile = '';
	for await (const block of jsonFileLogText(opened, new AbortController().signal)) fromFile += block;
	return {engine: fromEngine, file: fromFile, files: (await readdir(path.dirname(logPath))).filter(f => f.includes('-json.log'))};
}

test('json-file log read from its files says what the Engine serves: both streams, 16 KiB parts, bytes not UTF-8', async () => {
	await ensureTestReleases();
	const id = await run('plain', []);
	const {engine, file} = await bothWays(id);
	assert.ok(engine.includes(` stdout ${'y'.repeat(40_000)}\n`), 'the 16 KiB parts joined');
	assert.ok(engine.includes(' stderr err 299\n') && engine.includes('no newline at the end\n'));
	assert.equal(file.length, engine.length);
	assert.ok(file === engine, 'byte for byte the same');
});

test('json-file log: rotated and compressed by the driver, read oldest first', async () => {
	const id = await run('rotated', ['--log-opt', 'max-size=8k', '--log-opt', 'max-file=4', '--log-opt', 'compress=true']);
	const {engine, file, files} = await bothWays(id);
	assert.ok(files.some(f => f.endsWith('.gz')), `compressed rotated files: ${files.join(' ')}`);
	assert.ok(file === engine, `byte for byte the same (${file.length} and ${engine.length} bytes)`);
	assert.ok(engine.endsWith(' stdout no newline at the end\n'));
});

test('json-file log: a TTY container', async () => {
	const id = await run('tty', ['-t']);
	const {engine, file} = await bothWays(id);
	// The Engine's TTY answer has no frames: a message json-file wrote in 16 KiB parts is told
	// apart there only by the parts' timestamp (one for all of them), which it takes out again.
	assert.ok(file === engine, `byte for byte the same (${file.length} and ${engine.length} bytes)`);
	assert.ok(file.includes(' stdout line 299 token=abc123'));
});

test('capture: each log read the way its driver allows, and the manifest says which', async () => {
	// worker logs with the `local` driver (no json-file to read): its log is asked of the Engine.
	const stack = await createStack({withDb: false, extraCompose: 'services:\n  worker:\n    logging: {driver: local}\n'});
	const state = await mkdtemp(path.join(tmpdir(), 'rc-json-log-state-'));
	try {
		await stack.up({wait: true});
		const result = await runCli(['capture', '--json', '--state-dir', state], {cwd: stack.dir});
		assert.equal(result.exitCode, 0, result.stderr);
		const manifest = JSON.parse(await readFile(JSON.parse(result.stdout).manifest, 'utf8')) as Manifest;
		const how = (service: string) => manifest.items.find(i => i.id === `container-log:${stack.projectName}-${service}-1`)!;
		assert.match(how('web').how, /^read from the json-file log \/.+-json\.log /);
		assert.match(how('worker').how, /^Engine API GET \/containers\/\w+\/logs\?/);
		for (const service of ['web', 'worker']) assert.ok(how(service).ok && how(service).bytes > 0, `${service}: ${JSON.stringify(how(service))}`);
	} finally {
		await stack.down();
		await rm(state, {recursive: true, force: true});
	}
});

test('capture: of a log far past the cap only the newest part is read from the files, and the manifest says what was left', async () => {
	// 40,000 lines of ~1 KB: ~41 MB of lines, past the 25 MiB cap by more than a quarter.
	const chatty = `
services:
  chatty:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    command: [sh, -c, 'yes "$$(head -c 1000 /dev/zero | tr "\\\\0" a)" | head -n 40000 | awk "{ print NR \\" \\" \\$$0 }"; echo chatty-done; exec sleep 3600']
`;
	const stack = await createStack({withDb: false, extraCompose: chatty});
	const state = await mkdtemp(path.join(tmpdir(), 'rc-json-log-state-'));
	try {
		await stack.up();
		const name = `${stack.projectName}-chatty-1`;
		for (let i = 0; i < 200 && !(await docker('logs', '--tail', '1', name)).includes('chatty-done'); i++) await new Promise(resolve => setTimeout(resolve, 100));
		const result = await runCli(['capture', '--json', '--state-dir', state], {cwd: stack.dir});
		assert.equal(result.exitCode, 0, result.stderr);
		const capture = JSON.parse(result.stdout) as {dir: string; manifest: string};
		const manifest = JSON.parse(await readFile(capture.manifest, 'utf8')) as Manifest;
		const item = manifest.items.find(i => i.id === `container-log:${name}`)!;
		assert.equal(item.truncated, true);
		assert.match(item.note ?? '', /^capped at 25 MiB: the oldest \d+ lines \(\d+ bytes\) were dropped and [\d.]+ MiB of older log before them was not read, the newest kept$/);
		const text = await readFile(path.join(capture.dir, item.file), 'latin1');
		const lines = text.trimEnd().split('\n');
		assert.equal(Buffer.from(lines[0]!, 'latin1').toString('utf8'), `── rollback-console: ${item.note} ──`);
		assert.ok(text.length <= 25 * 1024 * 1024 + 200 && text.length > 24 * 1024 * 1024, `${text.length} bytes`);
		// The newest lines, in order and whole, up to the last.
		assert.match(lines.at(-1)!, / stdout chatty-done$/);
		assert.match(lines.at(-2)!, / stdout 40000 a{1000}$/);
		const numbers = lines.slice(1, -1).map(line => Number(/ stdout (\d+) /.exec(line)?.[1]));
		assert.ok(numbers.every((n, i) => n === numbers[0]! + i), 'consecutive, none missing');
	} finally {
		await stack.down();
		await rm(state, {recursive: true, force: true});
	}
});
