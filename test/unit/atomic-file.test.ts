import assert from 'node:assert/strict';
import {link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {
	appendLine,
	createFileExclusive,
	readJsonLines,
	scanJsonLines,
	writeFileAtomic,
} from '../../source/incident/atomic-file.js';

let base = '';
before(async () => {
	base = await mkdtemp(join(tmpdir(), 'rc-atomic-'));
});
after(async () => {
	await rm(base, {recursive: true, force: true});
});

const mode = async (file: string) => (await stat(file)).mode & 0o777;

describe('writeFileAtomic', () => {
	it('creates the file with mode 0600 by default and leaves no temp file', async () => {
		const dir = await mkdtemp(join(base, 'create-'));
		const file = join(dir, 'current');
		await writeFileAtomic(file, '{"incident":"x"}\n');
		assert.equal(await readFile(file, 'utf8'), '{"incident":"x"}\n');
		assert.equal(await mode(file), 0o600);
		assert.deepEqual(await readdir(dir), ['current']);
	});

	it('applies the mode it is given, whatever the umask', async () => {
		const dir = await mkdtemp(join(base, 'mode-'));
		const file = join(dir, 'bundle');
		const old = process.umask(0o077);
		try {
			await writeFileAtomic(file, Buffer.from([1, 2, 3]), {mode: 0o640});
		} finally {
			process.umask(old);
		}
		assert.equal(await mode(file), 0o640);
		assert.deepEqual([...(await readFile(file))], [1, 2, 3]);
	});

	it('replaces the file by rename: the old inode is never written to', async () => {
		const dir = await mkdtemp(join(base, 'rename-'));
		const file = join(dir, 'current');
		await writeFile(file, 'old content\n');
		// A second name for the original inode: if the write truncated in place, it would show.
		await link(file, join(dir, 'witness'));
		const before = await stat(file);
		await writeFileAtomic(file, 'new content\n');
		const afterwards = await stat(file);
		assert.notEqual(afterwards.ino, before.ino, 'a new inode was renamed into place');
		assert.equal(await readFile(file, 'utf8'), 'new content\n');
		assert.equal(await readFile(join(dir, 'witness'), 'utf8'), 'old content\n', 'the original inode is untouched');
		assert.equal(await mode(file), 0o600);
	});

	it('never lets a reader see a partial file', async () => {
		const dir = await mkdtemp(join(base, 'partial-'));
		const file = join(dir, 'state.json');
		const a = 'a'.repeat(1 << 20);
		const b = 'b'.repeat(1 << 20);
		await writeFileAtomic(file, a);
		let writing = true;
		let reads = 0;
		const reader = (async () => {
			while (writing) {
				const content = await readFile(file, 'utf8');
				assert.ok(content === a || content === b, `a torn read of ${content.length} bytes`);
				reads++;
			}
		})();
		for (let i = 0; i < 20; i++) await writeFileAtomic(file, i % 2 ? a : b);
		writing = false;
		await reader;
		assert.ok(reads > 0);
		assert.deepEqual(await readdir(dir), ['state.json']);
	});

	it('keeps the target and removes its temp file when the rename fails', async () => {
		const dir = await mkdtemp(join(base, 'fail-'));
		const target = join(dir, 'occupied');
		await mkdir(target);
		await writeFile(join(target, 'inside'), 'keep me');
		await assert.rejects(writeFileAtomic(target, 'data'));
		assert.equal(await readFile(join(target, 'inside'), 'utf8'), 'keep me');
		assert.deepEqual(await readdir(dir), ['occupied']);
	});
});

describe('createFileExclusive', () => {
	it('creates once, then refuses without touching the file', async () => {
		const dir = await mkdtemp(join(base, 'excl-'));
		const file = join(dir, 'timeline.jsonl');
		assert.equal(await createFileExclusive(file, 'first\n'), true);
		assert.equal(await createFileExclusive(file, 'second\n'), false);
		assert.equal(await readFile(file, 'utf8'), 'first\n');
		assert.equal(await mode(file), 0o600);
		assert.deepEqual(await readdir(dir), ['timeline.jsonl']);
	});
});

describe('appendLine', () => {
	it('appends newline-terminated lines to a 0600 file', async () => {
		const dir = await mkdtemp(join(base, 'append-'));
		const file = join(dir, 'log.jsonl');
		await appendLine(file, '{"n":1}');
		await appendLine(file, '{"n":2}');
		assert.equal(await readFile(file, 'utf8'), '{"n":1}\n{"n":2}\n');
		assert.equal(await mode(file), 0o600);
	});

	it('refuses a line with a newline in it', async () => {
		const dir = await mkdtemp(join(base, 'append-nl-'));
		await assert.rejects(appendLine(join(dir, 'log.jsonl'), 'a\nb'), /newline/);
	});
});

describe('readJsonLines', () => {
	it('is [] for a missing file', async () => {
		assert.deepEqual(await readJsonLines(join(base, 'missing.jsonl')), []);
	});

	it('skips a torn last line and blank lines', async () => {
		const file = join(base, 'torn.jsonl');
		await writeFile(file, '{"n":1}\n\n{"n":2}\n{"n":3,"te');
		assert.deepEqual(await readJsonLines(file), [{n: 1}, {n: 2}]);
		const scan = await scanJsonLines(file);
		assert.equal(scan.torn, true);
		assert.deepEqual(scan.skipped, [4]);
	});

	it('keeps a complete last line that lost only its newline', async () => {
		const file = join(base, 'no-newline.jsonl');
		await writeFile(file, '{"n":1}\n{"n":2}');
		assert.deepEqual(await readJsonLines(file), [{n: 1}, {n: 2}]);
	});

	it('skips a torn line that a later append terminated', async () => {
		const file = join(base, 'terminated.jsonl');
		await writeFile(file, '{"n":1}\n{"n":2,"te\n{"n":3}\n');
		assert.deepEqual(await readJsonLines(file), [{n: 1}, {n: 3}]);
		const scan = await scanJsonLines(file);
		assert.equal(scan.torn, false);
		assert.deepEqual(scan.skipped, [2]);
	});
});
