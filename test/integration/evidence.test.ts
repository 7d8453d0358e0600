// `capture` and `export` on a real stack: the bundle verifies (manifest sha256s, the .sha256
// sidecar), is 0600, and holds none of the planted secrets, nor their base64. A full state
// disk falls back to tmpfs without touching the earlier timeline; SIGINT leaves it incomplete.
import assert from 'node:assert/strict';
import {execFile, execFileSync, spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {closeSync, openSync, writeSync} from 'node:fs';
import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {createServer, type Server} from 'node:http';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, test, type TestContext} from 'node:test';
import {promisify} from 'node:util';
import * as tar from 'tar';
import {openIncident} from '../../source/incident/incident-store.js';
import {currentOperator} from '../../source/incident/operator.js';
import {Timeline, type TimelineEvent} from '../../source/incident/timeline.js';
import type {Manifest} from '../../source/incident/evidence/types.js';
import {CLI, runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';

const execFileAsync = promisify(execFile);

// What the stack leaks. The template plants DB_PASSWORD and a DATABASE_URL with credentials.
const SECRETS = {
	dbPassword: 'demo-secret-password',
	awsKey: 'AKIAQPLANTED7TEST9XY',
	bearer: 'eyJplanted.bearer-token_4b7f9c2e1d',
	logPassword: 'planted-log-pass-5309',
	cmdPassword: 'planted-cmd-arg-8841',
	pemBody: 'MIIEplantedPEMbodyLINEone0123456789abcdefABCDEF',
	pemBody2: 'q9PLANTEDsecondLINEofTHEkeyZZ0987654321zyxwvu',
};
assert.equal(SECRETS.awsKey.length, 20);

const PEM = ['-----BEGIN RSA PRIVATE KEY-----', SECRETS.pemBody, SECRETS.pemBody2, '-----END RSA PRIVATE KEY-----'].join('\n');

const extraCompose = `
services:
  web:
    environment:
      AWS_ACCESS_KEY_ID: ${SECRETS.awsKey}
  leaky:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    restart: unless-stopped
    environment:
      LEAK_TOKEN: ${SECRETS.bearer}
      LEAK_PASSWORD: ${SECRETS.logPassword}
      TLS_PRIVATE_KEY: |
${PEM.split('\n').map(line => `        ${line}`).join('\n')}
    command:
      - sh
      - -c
      - |
        echo "calling upstream with Authorization: Bearer $$LEAK_TOKEN"
        echo "db login user=app password=$$LEAK_PASSWORD ok"
        echo "$$TLS_PRIVATE_KEY"
        echo "leaky: ready"
        trap 'exit 0' TERM
        while :; do sleep 3600 & wait $$!; done
      - leaky
      - --password=${SECRETS.cmdPassword}
`;

let stack: Stack;
let work: string;

before(async () => {
	await ensureTestReleases();
	stack = await createStack({tag: 'v1.3.9', extraCompose});
	work = await mkdtemp(path.join(tmpdir(), 'rc-evidence-'));
	await stack.up({wait: true});
	// The leaky service has written every line before anything is captured.
	for (let i = 0; i < 100; i++) {
		const logs = await stack.compose(['logs', '--no-color', 'leaky']);
		if (logs.stdout.includes('leaky: ready')) break;
		await new Promise(resolve => setTimeout(resolve, 100));
	}
});

let mounted: string | null = null;

after(async () => {
	if (mounted) execFileSync('umount', [mounted], {stdio: 'pipe'});
	await stack?.down();
	if (work) await rm(work, {recursive: true, force: true});
});

interface CaptureJson {
	captureId: string;
	complete: boolean;
	bundle: {file: string; sha256: string; bytes: number; sidecar: string};
	dir: string;
	manifest: string;
	fellBack: {from: string; to: string; reason: string} | null;
	redact: boolean;
	redactions: Record<string, number>;
	items: Array<{id: string; file: string; ok: boolean; error: string | null}>;
}

async function capture(stateDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
	const result = await runCli(['capture', '--json', '--project-dir', stack.dir, '--state-dir', stateDir, ...extra], {env: {ROLLBACK_CONSOLE_FALLBACK_DIR: path.join(work, 'no-fallback'), ...env}});
	assert.equal(result.exitCode, 0, result.stderr);
	return {...result, json: JSON.parse(result.stdout) as CaptureJson};
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Every file under `dir`, relative path → bytes. */
async function readTree(dir: string): Promise<Map<string, Buffer>> {
	const files = new Map<string, Buffer>();
	for (const entry of await readdir(dir, {recursive: true, withFileTypes: true})) {
		if (!entry.isFile()) continue;
		const file = path.join(entry.parentPath, entry.name);
		files.set(path.relative(dir, file), await readFile(file));
	}
	return files;
}

async function extract(archive: string): Promise<{root: string; modes: Map<string, number>}> {
	const dir = await mkdtemp(path.join(work, 'x-'));
	const modes = new Map<string, number>();
	await tar.t({file: archive, onReadEntry: entry => void modes.set(entry.path, (entry.mode ?? 0) & 0o777)});
	await tar.x({file: archive, cwd: dir});
	const [top] = await readdir(dir);
	return {root: path.join(dir, top!), modes};
}

/** A secret and its base64, at each of the three alignments it can take inside longer base64. */
function needles(secret: string): string[] {
	const out = [secret];
	for (const pad of ['', 'x', 'xy']) {
		const encoded = Buffer.from(pad + secret).toString('base64');
		// Drop the characters that depend on the padding before and after.
		out.push(encoded.slice(pad === '' ? 0 : 4, -4));
	}
	return out;
}

function assertNoSecrets(files: Map<string, Buffer>, where: string) {
	for (const [name, secret] of Object.entries(SECRETS)) {
		for (const needle of needles(secret)) {
			for (const [file, bytes] of files) {
				assert.ok(!bytes.includes(needle), `${where}: ${file} holds the planted ${name} (${needle === secret ? 'as is' : 'base64'})`);
			}
		}
	}
}

test('capture: a verifiable 0600 bundle with every item, and none of the planted secrets', async () => {
	const stateDir = path.join(work, 'state');
	const started = performance.now();
	const {json, stderr} = await capture(stateDir);
	const ms = performance.now() - started;
	process.stderr.write(`# capture of the test stack: ${Math.round(ms)} ms, ${json.items.length} items, bundle ${json.bundle.bytes} bytes\n`);

	// One progress line per item on stderr.
	assert.equal(stderr.split('\n').filter(line => /^\[\s*\d+\/\d+\] (ok|FAILED)/.test(line)).length, json.items.length);
	assert.deepEqual(json.items.filter(i => !i.ok), [], 'every item captured');
	assert.equal(json.complete, true);
	assert.equal(json.redact, true);

	// What is in there: compose, each container's inspect/log, health history, images, engine, host, health, timeline.
	const ids = json.items.map(i => i.id);
	for (const id of ['compose-config', 'compose-ps', 'compose-version', 'engine-events', 'engine-info', 'engine-version', 'engine-df', 'host-facts', 'health-responses', 'timeline']) {
		assert.ok(ids.includes(id), `item ${id}`);
	}
	for (const service of ['web', 'worker', 'db', 'leaky']) {
		const name = `${stack.projectName}-${service}-1`;
		assert.ok(ids.includes(`container-inspect:${name}`) && ids.includes(`container-log:${name}`), `inspect and log of ${name}`);
	}
	assert.ok(ids.includes(`container-health:${stack.projectName}-web-1`), 'health history of a service with a healthcheck');
	assert.ok(ids.some(id => id.startsWith('image-inspect:sha256:')), 'image inspect');

	// The files on disk: 0600 (directories 0700), each matching the manifest's sha256.
	const manifest = JSON.parse(await readFile(json.manifest, 'utf8')) as Manifest;
	assert.equal(manifest.complete, true);
	const onDisk = await readTree(json.dir);
	assert.deepEqual([...onDisk.keys()].filter(f => f !== 'manifest.json').sort(), manifest.items.map(i => i.file).sort());
	for (const item of manifest.items) {
		assert.equal(sha256(onDisk.get(item.file)!), item.sha256, `${item.file} matches its sha256`);
		assert.equal(onDisk.get(item.file)!.length, item.bytes);
		assert.equal((await stat(path.join(json.dir, item.file))).mode & 0o777, 0o600, `${item.file} is 0600`);
		assert.ok(item.how.length > 0 && item.startedAt <= item.endedAt);
	}
	assert.equal((await stat(json.manifest)).mode & 0o777, 0o600);
	assert.equal((await stat(json.dir)).mode & 0o777, 0o700);

	// The archive: 0600, its sidecar verifies with sha256sum, and it holds exactly the capture.
	assert.equal((await stat(json.bundle.file)).mode & 0o777, 0o600);
	assert.equal((await stat(json.bundle.sidecar)).mode & 0o777, 0o600);
	assert.equal(sha256(await readFile(json.bundle.file)), json.bundle.sha256);
	const check = await execFileAsync('sha256sum', ['-c', path.basename(json.bundle.sidecar)], {cwd: path.dirname(json.bundle.sidecar)});
	assert.match(check.stdout, /: OK$/m);
	const {root, modes} = await extract(json.bundle.file);
	const extracted = await readTree(root);
	assert.deepEqual([...extracted.keys()].sort(), [...onDisk.keys()].sort());
	for (const [file, bytes] of extracted) assert.ok(bytes.equals(onDisk.get(file)!), `${file} archived as written`);
	for (const [entry, mode] of modes) assert.equal(mode, entry.endsWith('/') ? 0o700 : 0o600, `${entry} mode in the archive`);

	// No planted secret anywhere, as is or base64; and the manifest counts each kind, per file.
	assertNoSecrets(extracted, 'capture');
	const counts = manifest.redaction.counts;
	for (const rule of ['secret-env', 'url-credentials', 'aws-access-key', 'bearer', 'secret-arg', 'private-key'] as const) {
		assert.ok((counts[rule] ?? 0) >= 1, `the manifest counts ${rule}: ${JSON.stringify(counts)}`);
	}
	const item = (id: string) => manifest.items.find(i => i.id === id)!;
	const webInspect = item(`container-inspect:${stack.projectName}-web-1`).redactions;
	assert.ok(webInspect['secret-env']! >= 1 && webInspect['url-credentials']! >= 1 && webInspect['aws-access-key']! >= 1, JSON.stringify(webInspect));
	// As root, each log is read from the Engine's json-file files (the Engine serves the same bytes: json-file-log.test.ts).
	if (process.getuid?.() === 0) assert.match(item(`container-log:${stack.projectName}-leaky-1`).how, /^read from the json-file log \/.+-json\.log /);
	const leakyLog = item(`container-log:${stack.projectName}-leaky-1`).redactions;
	assert.ok(leakyLog['bearer']! >= 1 && leakyLog['secret-arg']! >= 1 && leakyLog['private-key']! >= 1, JSON.stringify(leakyLog));
	assert.ok(item(`container-inspect:${stack.projectName}-leaky-1`).redactions['secret-arg']! >= 1, '--password= in Cmd');
	assert.ok(item('compose-config').redactions['secret-env']! >= 1);

	// What survives redaction is still useful.
	const webLog = extracted.get(`containers/${stack.projectName}-web-1/log.txt`)!.toString();
	assert.match(webLog, /connecting to database postgres:\/\/app:\*\*\*@127\.0\.0\.1:15432\/app/);
	assert.match(webLog, /^\d{4}-\d\d-\d\dT[\d:.]+Z stdout /m, 'timestamped lines');
	const leaky = extracted.get(`containers/${stack.projectName}-leaky-1/log.txt`)!.toString();
	assert.match(leaky, /Authorization: Bearer \*\*\*/);
	assert.match(leaky, /-----BEGIN RSA PRIVATE KEY-----\*\*\*/);

	// The timeline says what happened; the step is done.
	const timeline = (await readFile(path.join(json.dir, '..', '..', 'timeline.jsonl'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as TimelineEvent);
	const complete = timeline.find(e => e.type === 'evidence_capture_complete')!;
	assert.equal(complete.step, 'evidence');
	assert.equal(complete.data['bundle'], json.bundle.file);
	assert.equal(complete.data['sha256'], json.bundle.sha256);
	assert.equal(complete.data['fellBack'], null);
	assert.ok(timeline.some(e => e.type === 'evidence_capture_start'));
	assert.deepEqual(timeline.filter(e => e.type === 'step_status').at(-1)?.data, {status: 'done'});
});

test('export: the whole incident in one verifiable bundle, still without secrets', async () => {
	const stateDir = path.join(work, 'state');
	const result = await runCli(['export', '--json', '--project-dir', stack.dir, '--state-dir', stateDir]);
	assert.equal(result.exitCode, 0, result.stderr);
	const json = JSON.parse(result.stdout) as {bundle: CaptureJson['bundle']; files: Array<{path: string; sha256: string; treatment: string}>};
	assert.equal((await stat(json.bundle.file)).mode & 0o777, 0o600);
	assert.equal(sha256(await readFile(json.bundle.file)), (await readFile(json.bundle.sidecar, 'utf8')).split(' ')[0]);
	const {root} = await extract(json.bundle.file);
	const files = await readTree(root);
	assert.ok(files.has('timeline.jsonl') && files.has('export-manifest.json'));
	assert.ok([...files.keys()].some(f => /^evidence\/[^/]+\/manifest\.json$/.test(f)), 'the capture is in it');
	for (const file of json.files) assert.equal(sha256(files.get(file.path)!), file.sha256, file.path);
	assert.ok(json.files.filter(f => f.path.startsWith('evidence/')).every(f => f.treatment === 'as captured'));
	assertNoSecrets(files, 'export');
});

test('--no-redact is explicit and on the record; the planted secrets are then really there', async () => {
	const stateDir = path.join(work, 'state-unredacted');
	const {json} = await capture(stateDir, ['--no-redact']);
	const manifest = JSON.parse(await readFile(json.manifest, 'utf8')) as Manifest;
	assert.equal(manifest.redaction.enabled, false);
	const files = await readTree(json.dir);
	const all = Buffer.concat([...files.values()]);
	for (const secret of Object.values(SECRETS)) assert.ok(all.includes(secret), `without redaction ${secret} is captured`);
	const timeline = await readFile(path.join(json.dir, '..', '..', 'timeline.jsonl'), 'utf8');
	assert.match(timeline, /"type":"evidence_capture_start".*"redact":false/);
});

test('--out: a directory takes the bundle; an existing file is never overwritten', async () => {
	const stateDir = path.join(work, 'state');
	const outDir = path.join(work, 'out');
	await mkdir(outDir);
	const {json} = await capture(stateDir, ['--out', outDir]);
	assert.equal(path.dirname(json.bundle.file), outDir);
	assert.equal((await stat(json.bundle.file)).mode & 0o777, 0o600);
	const taken = path.join(work, 'taken.tar.gz');
	await writeFile(taken, 'precious');
	const refused = await runCli(['capture', '--project-dir', stack.dir, '--state-dir', stateDir, '--out', taken]);
	assert.equal(refused.exitCode, 2);
	assert.match(refused.stderr.trim(), /^rollback-console: --out .*taken\.tar\.gz: .* already exists; refusing to overwrite it/);
	assert.equal(refused.stderr.trim().split('\n').length, 1);
	assert.equal(await readFile(taken, 'utf8'), 'precious');
});

test('SIGINT midway: the capture stops, exit 3, and its manifest stays complete: false', async () => {
	// A CI log that starts and never ends keeps the capture busy.
	const server: Server = createServer((_request, response) => {
		response.writeHead(200, {'content-type': 'text/plain'});
		response.write('step 1: build\n');
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as {port: number}).port;
	const stateDir = path.join(work, 'state-interrupted');
	try {
		const child = spawn(process.execPath, [CLI, 'capture', '--json', '--project-dir', stack.dir, '--state-dir', stateDir, '--ci-log', `http://127.0.0.1:${port}/job/42/log`], {
			env: {...process.env, NO_COLOR: '1'},
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stderr = '';
		let sent = false;
		child.stderr.setEncoding('utf8');
		child.stderr.on('data', (chunk: string) => {
			stderr += chunk;
			// Every other item is done: only the CI log is still being read.
			const done = stderr.split('\n').filter(line => /^\[\s*\d+\/\d+\] (ok|FAILED)/.test(line)).length;
			const total = Number(/^\[\s*\d+\/(\d+)\]/m.exec(stderr)?.[1] ?? 0);
			if (!sent && total > 0 && done === total - 1) {
				sent = child.kill('SIGINT');
			}
		});
		const exitCode = await new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
		assert.ok(sent, `SIGINT was sent while the CI log was read:\n${stderr}`);
		assert.equal(exitCode, 3, stderr);
		assert.match(stderr, /capture interrupted: .* is incomplete/);
		const incidents = path.join(stateDir, stack.projectName, 'incidents');
		const [incident] = await readdir(incidents);
		const [captureId] = await readdir(path.join(incidents, incident!, 'evidence'));
		const manifest = JSON.parse(await readFile(path.join(incidents, incident!, 'evidence', captureId!, 'manifest.json'), 'utf8')) as Manifest;
		assert.equal(manifest.complete, false);
		assert.equal(await stat(path.join(incidents, incident!, 'bundles')).then(() => 'there', () => 'none'), 'none', 'no bundle');
		const timeline = await readFile(path.join(incidents, incident!, 'timeline.jsonl'), 'utf8');
		assert.match(timeline, /"type":"evidence_capture_interrupted"/);
		assert.doesNotMatch(timeline, /"type":"evidence_capture_complete"/);
	} finally {
		server.closeAllConnections();
		server.close();
	}
});

// ---------------------------------------------------------------- a full disk

function mountSmallDisk(t: TestContext, dir: string): boolean {
	try {
		execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', dir], {stdio: 'pipe'});
		mounted = dir;
		return true;
	} catch (error) {
		t.skip(`cannot mount a tmpfs (needs root): ${String((error as {stderr?: Buffer}).stderr ?? error).trim().split('\n')[0]}`);
		return false;
	}
}

test('a full state disk: the capture falls back to tmpfs, says so, and the earlier timeline is untouched', async t => {
	const stateDir = path.join(work, 'full');
	await mkdir(stateDir);
	if (!mountSmallDisk(t, stateDir)) return;
	const fallback = path.join(work, 'fallback');

	// An incident already under way, its timeline padded to a whole page so no later append fits in its slack.
	const operator = currentOperator();
	const incident = await openIncident({stateDir, project: stack.projectName, operator, env: {ROLLBACK_CONSOLE_FALLBACK_DIR: fallback}});
	await incident.timeline.append('scope', 'note', {text: 'site down since 03:00'});
	const file = incident.timeline.file;
	const fixed = Date.parse('2026-11-22T03:05:00.000Z');
	const padder = await Timeline.open(file, {operator, now: () => fixed});
	const seq = padder.events().length + 1;
	const probe = JSON.stringify({time: new Date(fixed).toISOString(), seq, operator: {user: operator.user, ssh: operator.sshConnection, pid: operator.pid}, step: null, type: 'note', data: {text: ''}});
	const size = (await stat(file)).size;
	await padder.append(null, 'note', {text: 'x'.repeat(4096 - ((size + probe.length + 1) % 4096))});
	assert.equal((await stat(file)).size % 4096, 0, 'the timeline ends on a page boundary');

	// Fill the disk.
	const fd = openSync(path.join(stateDir, 'filler'), 'a');
	try {
		for (;;) writeSync(fd, Buffer.alloc(4096, 0x2e));
	} catch (error) {
		assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
	} finally {
		closeSync(fd);
	}
	const before = await readFile(file);

	const {json, stderr} = await capture(stateDir, [], {ROLLBACK_CONSOLE_FALLBACK_DIR: fallback});
	assert.match(stderr, /disk is full/);
	assert.ok(stderr.includes(fallback), 'stderr names where the evidence went');
	assert.ok(json.fellBack, 'the JSON says it fell back');
	assert.ok(json.dir.startsWith(fallback) && json.bundle.file.startsWith(fallback));
	const manifest = JSON.parse(await readFile(json.manifest, 'utf8')) as Manifest;
	assert.equal(manifest.location.fellBack, true);
	assert.match(manifest.location.reason ?? '', /free on the disk holding/);
	assert.equal(manifest.complete, true);
	assert.deepEqual(json.items.filter(i => !i.ok), []);
	const check = await execFileAsync('sha256sum', ['-c', path.basename(json.bundle.sidecar)], {cwd: path.dirname(json.bundle.sidecar)});
	assert.match(check.stdout, /: OK$/m);

	assert.ok((await readFile(file)).equals(before), 'the earlier timeline is byte-identical');
	// The timeline carried on in the fallback, with everything from before.
	const moved = await readFile(path.join(json.dir, '..', '..', 'timeline.jsonl'), 'utf8');
	assert.ok(moved.startsWith(before.toString()));
	assert.match(moved, /"type":"evidence_capture_complete".*"fellBack":\{"from"/);
});
