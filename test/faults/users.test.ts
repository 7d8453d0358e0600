// Fault 12: running as a user outside the docker group, and as one who cannot write the shared
// state dir: one clear line each, nothing half-written.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {oneLine, runCli} from '../support/cli.js';
import {createStack, ensureTestReleases, type Stack} from '../support/stack.js';
import {ensureUser, FAULT_USER, notRoot, userHome} from './support/users.js';

let stack: Stack;
let home: string;
const shared = mkdtempSync(path.join(os.tmpdir(), 'rc-faults-shared-'));

before(async () => {
	if (notRoot) return;
	await ensureTestReleases();
	ensureUser();
	home = userHome();
	stack = await createStack({tag: 'v1.3.9', withDb: false});
	chmodSync(stack.dir, 0o755);
	await stack.up({wait: true});
	// A shared state dir as root leaves it: others may read, not write.
	chmodSync(shared, 0o755);
});

after(async () => {
	await stack?.down();
	rmSync(shared, {recursive: true, force: true});
	if (home) rmSync(home, {recursive: true, force: true});
});

const dockerGid = () => execFileSync('getent', ['group', 'docker'], {encoding: 'utf8'}).split(':')[2]!;
const asUser = (groups: string[] = []) => ['setpriv', `--reuid=${FAULT_USER}`, `--regid=${FAULT_USER}`, groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups', '--'];

test('outside the docker group: one line naming the group, exit 2, nothing written', {skip: notRoot}, async () => {
	const state = mkdtempSync(path.join(home, 'state-'));
	execFileSync('chown', [FAULT_USER, state]);
	for (const args of [['status'], ['capture'], ['rollback', '--to', 'v1.3.8', '--yes']]) {
		const result = await runCli([...args, '--state-dir', state], {cwd: stack.dir, env: {HOME: home}, wrapper: asUser()});
		assert.equal(result.exitCode, 2, `${args[0]}: ${result.stderr}`);
		assert.match(oneLine(result.stderr), /permission denied on unix:\/\/\/var\/run\/docker\.sock: add the user to the docker group/, args[0]);
	}
	assert.deepEqual(readdirSync(state), [], 'nothing half-written in the state dir');
	assert.equal(readFileSync(path.join(stack.dir, '.env'), 'utf8').match(/IMAGE_TAG=(\S+)/)?.[1], 'v1.3.9', 'nothing changed');
});

test('in the docker group but unable to write the shared state dir: one line naming it, exit 2, nothing written', {skip: notRoot}, async () => {
	const before = readdirSync(shared);
	for (const args of [['capture'], ['rollback', '--to', 'v1.3.8', '--yes']]) {
		const result = await runCli([...args, '--state-dir', shared], {cwd: stack.dir, env: {HOME: home}, wrapper: asUser([dockerGid()])});
		assert.equal(result.exitCode, 2, `${args[0]}: ${result.stderr}`);
		assert.match(oneLine(result.stderr), new RegExp(`--state-dir ${shared} is not writable \\(EACCES\\)`), args[0]);
	}
	assert.deepEqual(readdirSync(shared), before, 'nothing half-written');
	assert.equal(readFileSync(path.join(stack.dir, '.env'), 'utf8').match(/IMAGE_TAG=(\S+)/)?.[1], 'v1.3.9', 'nothing changed');
	// Without --state-dir the box-wide dir (root's, 0700 here) is skipped for the user's own.
	const own = await runCli(['capture', '--json'], {cwd: stack.dir, env: {HOME: home, XDG_STATE_HOME: ''}, wrapper: asUser([dockerGid()])});
	assert.equal(own.exitCode, 0, own.stderr);
	assert.ok((JSON.parse(own.stdout) as {bundle: {file: string}}).bundle.file.startsWith(path.join(home, '.local', 'state', 'rollback-console')));
});
