// The capture machinery without an engine: items are in-memory collectors.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {ConsoleError} from '../../source/errors.js';
import {checkOut, resolveOut} from '../../source/incident/evidence/archive.js';
import {captureEvidence} from '../../source/incident/evidence/capture.js';
import {commandLine, previousContainers, safeName} from '../../source/incident/evidence/collectors.js';
import {buildManifest, readManifest, verifyCapture, writeManifest, type ManifestHead} from '../../source/incident/evidence/manifest.js';
import type {CaptureProgress, Content, EvidenceItem, EvidencePlan, ManifestItem} from '../../source/incident/evidence/types.js';
import {writeContent} from '../../source/incident/evidence/write-content.js';
import {exportIncident} from '../../source/incident/evidence/export.js';
import {findIncident} from '../../source/incident/evidence/find-incident.js';
import {openIncident} from '../../source/incident/incident-store.js';
import {progressLine} from '../../source/commands/capture.js';
import type {ContainerInfo} from '../../source/engine/types.js';

let base = '';
before(async () => {
	base = await mkdtemp(path.join(tmpdir(), 'rc-evidence-unit-'));
});
after(() => rm(base, {recursive: true, force: true}));

let n = 0;
const fresh = async () => {
	const dir = path.join(base, `t${n++}`);
	await mkdir(dir, {recursive: true});
	return dir;
};
const signal = new AbortController().signal;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const options = {redact: true, redactOptions: {}};

async function* lines(list: string[], failAfter?: number): AsyncIterable<string> {
	for (const [i, line] of list.entries()) {
		if (failAfter !== undefined && i === failAfter) throw new Error('log stream lost');
		yield line;
	}
}

describe('writeContent', () => {
	test('JSON is redacted, pretty-printed, 0600, and its sha256 is of the bytes written', async () => {
		const file = path.join(await fresh(), 'a', 'inspect.json');
		const written = await writeContent(file, {json: {Config: {Env: ['DB_PASSWORD=pw', 'ROLE=web']}}}, options, signal);
		const bytes = await readFile(file);
		assert.equal(written.sha256, sha256(bytes));
		assert.equal(written.bytes, bytes.length);
		assert.deepEqual(JSON.parse(bytes.toString()), {Config: {Env: ['DB_PASSWORD=***', 'ROLE=web']}});
		assert.deepEqual(written.redactions, {'secret-env': 1});
		assert.equal((await stat(file)).mode & 0o777, 0o600);
		await assert.rejects(writeContent(file, {text: 'again'}, options, signal), {code: 'EEXIST'}, 'never over an existing file');
	});

	test('a log longer than the cap keeps its newest lines and says what it dropped', async () => {
		const file = path.join(await fresh(), 'log.txt');
		const log = Array.from({length: 100}, (_, i) => `line ${String(i).padStart(3, '0')} password=p${i}`);
		const written = await writeContent(file, {lines: lines(log), capBytes: 250}, options, signal);
		const text = await readFile(file, 'utf8');
		assert.equal(written.truncated, true);
		assert.match(written.note ?? '', /^capped at 250 bytes: the oldest 89 lines \(\d+ bytes\) were dropped, the newest kept$/);
		const [marker, ...kept] = text.trimEnd().split('\n');
		assert.equal(marker, `── rollback-console: ${written.note} ──`);
		assert.deepEqual(kept, log.slice(89).map(line => line.replace(/password=.*/, 'password=***')));
		assert.ok(Buffer.byteLength(kept.join('\n')) < 250);
		assert.deepEqual(written.redactions, {'secret-arg': 100}, 'every line is redacted, kept or not');
	});

	test('a log in batches, written as it comes, keeps exactly the newest lines that fit the cap (bytes kept as they came)', async () => {
		let seed = 7;
		const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
		const log = Array.from({length: 3000}, (_, i) => `${i} ${'\xe9x'.repeat(Math.floor(random() ** 3 * 300))}`);
		async function* batches(): AsyncIterable<string[]> {
			for (let i = 0; i < log.length; i += 37) yield log.slice(i, i + 37);
		}
		for (const cap of [20_000, 200_000, 10_000_000]) {
			const file = path.join(await fresh(), 'log.txt');
			const written = await writeContent(file, {lines: batches(), capBytes: cap, encoding: 'latin1'}, {redact: false, redactOptions: {}}, signal);
			// The reference: the longest run of newest lines within the cap.
			let keep = 0;
			for (let bytes = 0; keep < log.length && bytes + log[log.length - 1 - keep]!.length + 1 <= cap; keep++) bytes += log[log.length - 1 - keep]!.length + 1;
			const bytes = await readFile(file);
			assert.equal(written.sha256, sha256(bytes));
			assert.equal(written.bytes, bytes.length);
			const text = bytes.toString('latin1');
			const kept = keep === log.length ? text : text.slice(text.indexOf('\n') + 1);
			assert.equal(kept, log.slice(log.length - keep).map(l => `${l}\n`).join(''), `cap ${cap}`);
			assert.equal(written.truncated, keep < log.length);
			if (keep < log.length) assert.match(written.note ?? '', new RegExp(`the oldest ${log.length - keep} lines`));
		}
	});

	test('a log whose source read only its newest part says how much it left, within the cap or past it', async () => {
		async function* blocks(...texts: string[]): AsyncIterable<string> {
			yield* texts;
		}
		const within = path.join(await fresh(), 'log.txt');
		const kept = await writeContent(within, {blocks: blocks('one\n', 'two\n'), capBytes: 1000, unread: () => 3 * 1024 * 1024}, {redact: false, redactOptions: {}}, signal);
		assert.equal(kept.truncated, true);
		assert.equal(kept.note, 'capped at 1000 bytes: 3 MiB of older log before them was not read, the newest kept');
		assert.equal(await readFile(within, 'utf8'), `── rollback-console: ${kept.note} ──\none\ntwo\n`);
		assert.equal(kept.sha256, sha256(await readFile(within)));

		const past = path.join(await fresh(), 'log.txt');
		const dropped = await writeContent(past, {blocks: blocks('one\n', 'two\n', 'three\n'), capBytes: 10, unread: () => 2048}, {redact: false, redactOptions: {}}, signal);
		assert.equal(dropped.note, 'capped at 10 bytes: the oldest 1 lines (4 bytes) were dropped and 2048 bytes of older log before them was not read, the newest kept');
		assert.equal(await readFile(past, 'utf8'), `── rollback-console: ${dropped.note} ──\ntwo\nthree\n`);

		const whole = path.join(await fresh(), 'log.txt');
		const all = await writeContent(whole, {blocks: blocks('one\n'), capBytes: 1000, unread: () => 0}, {redact: false, redactOptions: {}}, signal);
		assert.deepEqual([all.truncated, all.note, await readFile(whole, 'utf8')], [false, null, 'one\n']);
	});

	test('a stream that breaks midway: what came is written, and the error is kept', async () => {
		const file = path.join(await fresh(), 'log.txt');
		const written = await writeContent(file, {lines: lines(['one', 'two', 'three'], 2), capBytes: 1000}, options, signal);
		assert.equal(await readFile(file, 'utf8'), 'one\ntwo\n');
		assert.equal(written.error, 'log stream lost');
	});

	test('JSON lines (a timeline) are redacted as JSON: our own counts are not taken for secrets', async () => {
		const file = path.join(await fresh(), 'timeline.jsonl');
		const events = [JSON.stringify({type: 'evidence_capture_complete', data: {redacted: {'secret-env': 2}, password: 'x'}}), 'torn {"pass'];
		await writeContent(file, {lines: lines(events), capBytes: Infinity, jsonPerLine: true}, options, signal);
		assert.equal(await readFile(file, 'utf8'), '{"type":"evidence_capture_complete","data":{"redacted":{"secret-env":2},"password":"***"}}\ntorn {"pass\n');
	});

	test('without redaction the content is written as it came', async () => {
		const file = path.join(await fresh(), 'x.txt');
		const written = await writeContent(file, {text: 'password=hunter2\n'}, {redact: false, redactOptions: {}}, signal);
		assert.equal(await readFile(file, 'utf8'), 'password=hunter2\n');
		assert.deepEqual(written.redactions, {});
	});
});

const head = (dir: string): ManifestHead => ({
	captureId: '20261122-031209-ab12',
	project: 'shop',
	incident: '20261122-030000-cdef',
	host: 'prod-1',
	operator: {user: 'alice', ssh: null, sudoUser: null},
	startedAt: '2026-11-22T03:12:09.000Z',
	redact: true,
	extraPatterns: 0,
	logCapBytes: 1000,
	location: {dir, fellBack: false, reason: null, intendedDir: dir},
});

describe('the manifest', () => {
	test('sums items, counts redactions by rule, and verifies against the files', async () => {
		const dir = await fresh();
		await writeFile(path.join(dir, 'a.txt'), 'aaa', {mode: 0o600});
		const item = (file: string, data: string | null, extra: Partial<ManifestItem> = {}): ManifestItem => ({
			id: file,
			what: file,
			how: 'test',
			file,
			bytes: data?.length ?? 0,
			sha256: data === null ? null : sha256(data),
			startedAt: '',
			endedAt: '',
			ok: data !== null,
			error: data === null ? 'boom' : null,
			truncated: false,
			note: null,
			redactions: {},
			...extra,
		});
		const items = [item('a.txt', 'aaa', {redactions: {'secret-env': 2, bearer: 1}, truncated: true}), item('b.txt', null)];
		const manifest = buildManifest(head(dir), items, true, '2026-11-22T03:12:10.000Z');
		assert.deepEqual(manifest.summary, {items: 2, ok: 1, failed: 1, truncated: 1, bytes: 3});
		assert.deepEqual(manifest.redaction.counts, {'secret-env': 2, bearer: 1});
		assert.equal(manifest.redaction.enabled, true);
		await writeManifest(dir, manifest);
		assert.equal((await stat(path.join(dir, 'manifest.json'))).mode & 0o777, 0o600);
		assert.deepEqual(await readManifest(dir), manifest);
		assert.deepEqual(await verifyCapture(dir), {ok: true, problems: []});

		await writeFile(path.join(dir, 'a.txt'), 'tampered');
		await writeFile(path.join(dir, 'extra.txt'), 'x');
		const verdict = await verifyCapture(dir);
		assert.equal(verdict.ok, false);
		assert.match(verdict.problems.join('\n'), /a\.txt: sha256 .* does not match/);
		assert.match(verdict.problems.join('\n'), /extra\.txt: not in the manifest/);

		await writeManifest(dir, buildManifest(head(dir), [], false, null));
		assert.match((await verifyCapture(dir)).problems.join('\n'), /not complete/);
	});
});

function plan(items: Array<Partial<EvidenceItem> & {file: string; collect: (signal: AbortSignal) => Promise<Content>}>): EvidencePlan {
	return {
		project: 'shop',
		items: items.map((item, i) => ({id: `item-${i}`, group: 'engine', what: `item ${i}`, how: `GET /item/${i}`, estimate: 10, ...item})),
		estimateBytes: 100,
		estimateIncomplete: false,
		logCapBytes: 1000,
		containers: 0,
		images: 0,
		healthUrls: 0,
		ciLog: null,
		extraPatterns: ['acct-\\d+'],
	};
}

const operator = {user: 'alice', host: 'prod-1', sshConnection: null, sudoUser: null};

describe('captureEvidence', () => {
	test('every item written with the manifest; a failing one is recorded, not fatal; progress and timeline follow', async () => {
		const incidentDir = await fresh();
		const events: Array<{step: string | null; type: string; data: Record<string, unknown>}> = [];
		const progress: CaptureProgress[] = [];
		const result = await captureEvidence(
			plan([
				{file: 'engine/info.json', collect: async () => ({json: {Name: 'box', HttpProxy: 'http://u:pw@proxy:3128'}})},
				{file: 'ci/ci.log', collect: async () => Promise.reject(new Error('HTTP 404'))},
				{file: 'notes.txt', collect: async () => ({text: 'account acct-1234 locked\n'})},
			]),
			{
				incident: {id: '20261122-030000-cdef', dir: incidentDir},
				operator,
				record: async (step, type, data) => void events.push({step, type, data}),
				redact: true,
				onProgress: p => progress.push(p),
				env: {ROLLBACK_CONSOLE_FALLBACK_DIR: path.join(incidentDir, 'fallback')},
			},
		);
		const {manifest} = result;
		assert.equal(manifest.complete, true);
		assert.deepEqual(manifest.items.map(i => [i.file, i.ok, i.error]), [
			['engine/info.json', true, null],
			['ci/ci.log', false, 'HTTP 404'],
			['notes.txt', true, null],
		]);
		assert.deepEqual(manifest.redaction.counts, {'url-credentials': 1, 'config-pattern': 1});
		assert.deepEqual(await verifyCapture(result.dir), {ok: true, problems: []});
		assert.equal(result.dir, path.join(incidentDir, 'evidence', result.captureId));
		assert.equal(path.dirname(result.bundle.file), path.join(incidentDir, 'bundles'));
		assert.equal(await readFile(result.bundle.sidecar, 'utf8'), `${result.bundle.sha256}  ${path.basename(result.bundle.file)}\n`);
		assert.equal(sha256(await readFile(result.bundle.file)), result.bundle.sha256);

		const finished = progress.filter(p => p.state !== 'running');
		assert.deepEqual(finished.map(p => [p.item.file, p.state]).sort(), [['ci/ci.log', 'failed'], ['engine/info.json', 'done'], ['notes.txt', 'done']]);
		assert.deepEqual(finished.map(p => [p.finished, p.total]), [[1, 3], [2, 3], [3, 3]]);
		assert.equal(finished.find(p => p.state === 'failed')?.error, 'HTTP 404');
		assert.equal(progress.filter(p => p.state === 'running').length, 3);

		assert.deepEqual(events.map(e => [e.step, e.type]), [
			['evidence', 'evidence_capture_start'],
			['evidence', 'evidence_capture_complete'],
			['evidence', 'step_status'],
		]);
		const complete = events[1]!.data;
		assert.equal(complete['bundle'], result.bundle.file);
		assert.equal(complete['sha256'], result.bundle.sha256);
		assert.equal(complete['items'], 3);
		assert.deepEqual(complete['failed'], [{id: 'item-1', error: 'HTTP 404'}]);
		assert.deepEqual(complete['redacted'], {total: 2, 'url-credentials': 1, 'config-pattern': 1});
		assert.equal(complete['fellBack'], null);
		assert.deepEqual(events[2]!.data, {status: 'done', reason: '1 of 3 items failed'});
	});

	test('an abort stops it: exit 3, the manifest stays complete: false, no bundle', async () => {
		const incidentDir = await fresh();
		const controller = new AbortController();
		const types: string[] = [];
		const hang = (itemSignal: AbortSignal) =>
			new Promise<Content>((_, reject) => itemSignal.addEventListener('abort', () => reject(itemSignal.reason), {once: true}));
		const capture = captureEvidence(
			plan([
				{file: 'quick.txt', collect: async () => ({text: 'ok\n'})},
				{file: 'slow.txt', collect: hang},
			]),
			{
				incident: {id: '20261122-030000-cdef', dir: incidentDir},
				operator,
				record: async (_step, type) => void types.push(type),
				redact: true,
				signal: controller.signal,
				onProgress: p => p.state === 'done' && controller.abort(new Error('interrupted by SIGINT')),
			},
		);
		await assert.rejects(capture, (error: unknown) => error instanceof ConsoleError && error.exitCode === 3 && /capture interrupted: .* is incomplete/.test(error.message));
		const [captureId] = await readdir(path.join(incidentDir, 'evidence'));
		const manifest = await readManifest(path.join(incidentDir, 'evidence', captureId!));
		assert.equal(manifest.complete, false);
		assert.deepEqual(types, ['evidence_capture_start', 'evidence_capture_interrupted']);
		await assert.rejects(stat(path.join(incidentDir, 'bundles')), {code: 'ENOENT'});
	});

	test('an item that never answers times out and is recorded as such', async () => {
		const incidentDir = await fresh();
		const result = await captureEvidence(plan([{file: 'stuck.txt', collect: signal => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))}]), {
			incident: {id: '20261122-030000-cdef', dir: incidentDir},
			operator,
			record: async () => {},
			redact: true,
			itemTimeoutMs: 50,
		});
		assert.deepEqual(result.manifest.items.map(i => [i.ok, i.error]), [[false, 'timed out after 0 s']]);
	});
});

test('--out: a new file, a directory, never an existing file or a missing directory', async () => {
	const dir = await fresh();
	assert.equal(await resolveOut(undefined, 'b.tar.gz', dir), null);
	assert.equal(await resolveOut('new.tar.gz', 'b.tar.gz', dir), path.join(dir, 'new.tar.gz'));
	assert.equal(await resolveOut('.', 'b.tar.gz', dir), path.join(dir, 'b.tar.gz'));
	await writeFile(path.join(dir, 'b.tar.gz'), 'x');
	await assert.rejects(resolveOut('b.tar.gz', 'c.tar.gz', dir), /--out b\.tar\.gz: .* already exists; refusing to overwrite it/);
	await assert.rejects(resolveOut('.', 'b.tar.gz', dir), /already exists; refusing to overwrite it/);
	await assert.rejects(resolveOut('nowhere/x.tar.gz', 'b.tar.gz', dir), /--out nowhere\/x\.tar\.gz: .*nowhere is not a directory/);
	await checkOut('.', dir);
	await assert.rejects(checkOut('b.tar.gz', dir), ConsoleError);
});

test('helpers: command lines, path-safe names, previous containers, progress lines', () => {
	assert.equal(commandLine(['docker', 'compose', '-f', '/srv/my app/compose.yaml', 'config']), `docker compose -f '/srv/my app/compose.yaml' config`);
	assert.equal(safeName('9f2c_shop-web-1'), '9f2c_shop-web-1');
	assert.equal(safeName('../x y'), '__x_y');
	const c = (id: string, createdAt: string, number = 1): ContainerInfo => ({
		id, name: id, project: 'shop', service: 'web', number, state: 'exited', health: 'none', restartCount: 0, exitCode: 0, oomKilled: false,
		startedAt: null, finishedAt: null, createdAt, image: 'app', imageId: 'sha256:1', labels: {},
	});
	assert.deepEqual([...previousContainers([c('old', '2026-11-22T03:00:00Z'), c('new', '2026-11-22T03:10:00Z'), c('replica2', '2026-11-22T02:00:00Z', 2)])], ['old']);
	const item = {id: 'x', group: 'engine' as const, what: 'x', how: 'x', file: 'engine/info.json', estimate: 0};
	assert.equal(progressLine({item, state: 'running', bytes: 0, finished: 0, total: 12}), null);
	assert.equal(progressLine({item, state: 'done', bytes: 3000, finished: 3, total: 12}), '[ 3/12] ok        3.0 kB  engine/info.json');
	assert.equal(progressLine({item, state: 'failed', bytes: 0, error: 'HTTP 404', finished: 4, total: 12}), '[ 4/12] FAILED  engine/info.json: HTTP 404');
});

describe('exportIncident', () => {
	test('captures go in as captured; the timeline and saved logs are redacted on the way out; --no-redact copies', async () => {
		const incidentDir = await fresh();
		const timelineFile = path.join(incidentDir, 'timeline.jsonl');
		await writeFile(timelineFile, `${JSON.stringify({seq: 1, type: 'note', data: {text: 'db is postgres://app:hunter2@db/app'}})}\n`);
		await mkdir(path.join(incidentDir, 'logs'));
		await writeFile(path.join(incidentDir, 'logs', 'web.log'), 'login password=hunter2\nok\n');
		const captured = await captureEvidence(plan([{file: 'engine/info.json', collect: async () => ({json: {HttpProxy: 'http://u:hunter2@proxy'}})}]), {
			incident: {id: '20261122-030000-cdef', dir: incidentDir},
			operator,
			record: async () => {},
			redact: true,
		});
		const events: string[] = [];
		const common = {
			incident: {id: '20261122-030000-cdef', dir: incidentDir},
			project: 'shop',
			timelineFile,
			operator: {user: 'alice', host: 'prod-1', sshConnection: null},
			record: async (_step: unknown, type: string) => void events.push(type),
			extraPatterns: [],
			env: {ROLLBACK_CONSOLE_FALLBACK_DIR: path.join(incidentDir, 'fallback')},
		};
		const result = await exportIncident({...common, redact: true});
		const byPath = new Map(result.files.map(f => [f.path, f]));
		assert.deepEqual([...byPath.keys()].sort(), [
			`evidence/${captured.captureId}/engine/info.json`,
			`evidence/${captured.captureId}/manifest.json`,
			'logs/web.log',
			'timeline.jsonl',
		]);
		assert.equal(byPath.get(`evidence/${captured.captureId}/engine/info.json`)!.treatment, 'as captured');
		assert.equal(byPath.get(`evidence/${captured.captureId}/engine/info.json`)!.sha256, captured.manifest.items[0]!.sha256, 'still matches its capture manifest');
		assert.equal(byPath.get('logs/web.log')!.treatment, 'redacted on export');
		assert.deepEqual(byPath.get('timeline.jsonl')!.redactions, {'url-credentials': 1});
		assert.deepEqual(result.redactions, {'url-credentials': 1, 'secret-arg': 1});
		assert.deepEqual(events, ['incident_exported']);
		assert.equal((await stat(result.bundle.file)).mode & 0o777, 0o600);
		assert.equal(sha256(await readFile(result.bundle.file)), result.bundle.sha256);
		assert.ok(!(await readdir(path.join(incidentDir, 'bundles'))).some(name => name.startsWith('.export-')), 'the staging directory is gone');

		const raw = await exportIncident({...common, redact: false});
		assert.ok(raw.files.every(f => f.treatment === 'as captured' || f.treatment === 'copied (redaction off)'));
		assert.deepEqual(raw.redactions, {});
	});

	test('export finds the open incident, or says there is none', async () => {
		const stateDir = await fresh();
		const me = {user: 'alice', uid: 0, host: 'prod-1', sshConnection: null, pid: process.pid, sudoUser: null};
		const env = {ROLLBACK_CONSOLE_FALLBACK_DIR: path.join(stateDir, 'fallback')};
		await assert.rejects(findIncident({stateDir, project: 'shop', id: null, operator: me, env}), /no open incident for shop in .*: nothing to export/);
		await assert.rejects(findIncident({stateDir, project: 'shop', id: 'nope', operator: me, env}), /"nope" is not an incident id/);
		const opened = await openIncident({stateDir, project: 'shop', operator: me, env});
		const found = await findIncident({stateDir, project: 'shop', id: null, operator: me, env});
		assert.equal(found.id, opened.id);
		assert.equal(found.dir, opened.dir);
		assert.deepEqual((await findIncident({stateDir, project: 'shop', id: opened.id, operator: me, env})).id, opened.id);
		await assert.rejects(findIncident({stateDir, project: 'shop', id: '20200101-000000-abcd', operator: me, env}), /no incident 20200101-000000-abcd/);
	});
});
