import assert from 'node:assert/strict';
import {mkdtemp, rm, stat, writeFile} from 'node:fs/promises';
import {hostname, tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {ConsoleError} from '../../source/errors.js';
import {currentOperator} from '../../source/incident/operator.js';
import {
	fallbackCandidates,
	projectStateDir,
	resolveStateDir,
	tmpfsFallbackDir,
	userStateDir,
} from '../../source/incident/state-dir.js';

let base = '';
before(async () => {
	base = await mkdtemp(join(tmpdir(), 'rc-state-dir-'));
});
after(async () => {
	await rm(base, {recursive: true, force: true});
});

const isConsoleErrorNaming = (path: string) => (error: unknown) => {
	assert.ok(error instanceof ConsoleError, `expected a ConsoleError, got ${String(error)}`);
	assert.equal(error.exitCode, 2);
	assert.ok(error.message.includes(path), `"${error.message}" names ${path}`);
	return true;
};

describe('resolveStateDir', () => {
	it('refuses a --state-dir that is a file, naming it', async () => {
		const file = join(base, 'not-a-dir');
		await writeFile(file, '');
		await assert.rejects(resolveStateDir({flag: file, env: {}}), isConsoleErrorNaming(file));
	});

	it('refuses a --state-dir whose parent is a file', async () => {
		const file = join(base, 'a-file');
		await writeFile(file, '');
		const dir = join(file, 'state');
		await assert.rejects(resolveStateDir({flag: dir, env: {}}), isConsoleErrorNaming(dir));
	});

	it('creates a missing --state-dir (0700)', async () => {
		const dir = join(base, 'flag', 'nested');
		assert.deepEqual(await resolveStateDir({flag: dir, env: {}}), {dir, source: 'flag'});
		const info = await stat(dir);
		assert.ok(info.isDirectory());
		assert.equal(info.mode & 0o777, 0o700);
	});

	it('uses the system dir when it can', async () => {
		const systemDir = join(base, 'var-lib', 'rollback-console');
		assert.deepEqual(await resolveStateDir({env: {}, systemDir}), {dir: systemDir, source: 'system'});
	});

	it('falls back to $XDG_STATE_HOME when the system dir is unusable', async () => {
		const blocker = join(base, 'blocker');
		await writeFile(blocker, '');
		const xdg = join(base, 'xdg-state');
		const resolved = await resolveStateDir({env: {XDG_STATE_HOME: xdg}, systemDir: join(blocker, 'rollback-console')});
		assert.deepEqual(resolved, {dir: join(xdg, 'rollback-console'), source: 'user'});
		assert.ok((await stat(resolved.dir)).isDirectory());
	});

	it('ignores a relative $XDG_STATE_HOME, using ~/.local/state', () => {
		assert.equal(userStateDir({XDG_STATE_HOME: 'relative', HOME: '/home/op'}), '/home/op/.local/state/rollback-console');
	});
});

describe('projectStateDir', () => {
	it('joins a Compose project name', () => {
		assert.equal(projectStateDir('/state', 'shop_prod-2'), '/state/shop_prod-2');
	});

	for (const name of ['', '../etc', 'Shop', '-shop', 'a/b', '.', 'shop prod']) {
		it(`refuses ${JSON.stringify(name)}`, () => {
			assert.throws(() => projectStateDir('/state', name), ConsoleError);
		});
	}
});

describe('tmpfs fallback', () => {
	it('prefers $ROLLBACK_CONSOLE_FALLBACK_DIR, then /run, the runtime dir, /dev/shm', () => {
		assert.deepEqual(fallbackCandidates({ROLLBACK_CONSOLE_FALLBACK_DIR: '/mnt/fb', XDG_RUNTIME_DIR: '/run/user/1000'}), [
			'/mnt/fb',
			'/run/rollback-console',
			'/run/user/1000/rollback-console',
			'/dev/shm/rollback-console',
		]);
		assert.deepEqual(fallbackCandidates({}), ['/run/rollback-console', '/dev/shm/rollback-console']);
	});

	it('creates and returns the explicit fallback dir', async () => {
		const dir = join(base, 'fallback');
		assert.equal(await tmpfsFallbackDir({ROLLBACK_CONSOLE_FALLBACK_DIR: dir}), dir);
		assert.ok((await stat(dir)).isDirectory());
	});
});

describe('currentOperator', () => {
	it('says who, where and over which SSH connection', () => {
		const operator = currentOperator({SSH_CONNECTION: '203.0.113.9 51234 203.0.113.1 22', SUDO_USER: 'alice'});
		assert.equal(operator.sshConnection, '203.0.113.9 51234 203.0.113.1 22');
		assert.equal(operator.sudoUser, 'alice');
		assert.equal(operator.pid, process.pid);
		assert.equal(operator.host, hostname());
		assert.ok(operator.user.length > 0);
		assert.equal(currentOperator({}).sshConnection, null);
	});
});
