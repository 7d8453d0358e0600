import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync, chmodSync} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {execFileSync} from 'node:child_process';
import {after, test} from 'node:test';
import {oneLine, ROOT, runCli} from '../support/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-errors-'));
chmodSync(dir, 0o755);
after(() => rmSync(dir, {recursive: true, force: true}));

const project = path.join(dir, 'project');
execFileSync('mkdir', ['-p', project]);
writeFileSync(
	path.join(project, 'compose.yaml'),
	'services:\n  app:\n    image: local/busybox:latest\n    pull_policy: never\n    network_mode: host\n',
);
chmodSync(project, 0o755);
chmodSync(path.join(project, 'compose.yaml'), 0o644);

async function expectEnvironmentError(args: string[], pattern: RegExp, options: Parameters<typeof runCli>[1] = {}) {
	const result = await runCli(args, options);
	assert.equal(result.exitCode, 2, `exit code (stderr: ${result.stderr})`);
	assert.match(oneLine(result.stderr), pattern);
	assert.equal(result.stdout, '');
}

test('not a Compose project', async () => {
	const empty = mkdtempSync(path.join(dir, 'empty-'));
	await expectEnvironmentError(['status'], /^rollback-console: not a Compose project: no compose\.yaml, .* in .*empty-\w+ or its parents/, {cwd: empty});
});

test('a Compose file that does not parse is named, with compose\'s own message', async () => {
	const broken = mkdtempSync(path.join(dir, 'broken-'));
	const file = path.join(broken, 'compose.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	writeFileSync(path.join(broken, 'compose.yaml'), 'services:\n  app:\n    image: [unclosed\n');
	await expectEnvironmentError(['status'], new RegExp(`^rollback-console: the Compose file ${file} does not parse: .*yaml`, 'i'), {cwd: broken});
	writeFileSync(path.join(broken, 'compose.yaml'), 'services:\n  app:\n    image: x\n    bogus_key: 1\n');
	await expectEnvironmentError(['status'], new RegExp(`^rollback-console: the Compose file ${file} does not parse: .*bogus_key`), {cwd: broken});
});

test('a mistyped option is one prefixed line, exit 2', async () => {
	for (const [args, option] of [[['status', '--jsn'], '--jsn'], [['-x'], '-x'], [['capture', '--out=x', '--no-redakt'], '--no-redakt']] as const) {
		const result = await runCli([...args], {cwd: project});
		assert.equal(result.exitCode, 2);
		assert.equal(result.stderr, `rollback-console: unknown option ${option} (see --help)\n`);
		assert.equal(result.stdout, '');
	}
});

test('a bad x-rollback-console key names the key', async () => {
	const bad = mkdtempSync(path.join(dir, 'badext-'));
	writeFileSync(path.join(bad, 'compose.yaml'), 'x-rollback-console:\n  disk: {threshold_percent: 500}\nservices:\n  app:\n    image: x\n');
	await expectEnvironmentError(['status'], /^rollback-console: x-rollback-console\.disk\.threshold_percent: expected a whole number from 1 to 100/, {cwd: bad});
});

test('no engine at the socket', async () => {
	const socket = path.join(dir, 'nothing-here.sock');
	await expectEnvironmentError(['status', '--project-dir', project], /no Docker Engine at unix:\/\/.*nothing-here\.sock: the socket does not exist/, {
		env: {DOCKER_HOST: `unix://${socket}`},
	});
});

test('no engine answering on tcp', async () => {
	await expectEnvironmentError(['status', '--project-dir', project], /no Docker Engine at tcp:\/\/127\.0\.0\.1:1: connection refused/, {
		env: {DOCKER_HOST: 'tcp://127.0.0.1:1'},
	});
});

test('permission denied on the socket names the docker group', {skip: process.getuid?.() !== 0 && 'needs root to become an unprivileged user'}, async () => {
	await expectEnvironmentError(
		['status', '--project-dir', project],
		/permission denied on unix:\/\/\/var\/run\/docker\.sock: add the user to the docker group .* or use sudo/,
		{wrapper: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'], env: {HOME: dir}},
	);
});

test('an engine whose API is older than 1.41', async () => {
	// A stand-in engine that answers like Docker 19.03: only the version matters here.
	const socket = path.join(dir, 'old-engine.sock');
	const server = http.createServer((request, response) => {
		response.setHeader('Content-Type', 'application/json');
		response.setHeader('Api-Version', '1.40');
		if (request.url?.includes('/version')) {
			response.end(JSON.stringify({Version: '19.03.15', ApiVersion: '1.40', Os: 'linux', Arch: 'amd64', KernelVersion: '5.10'}));
		} else if (request.url?.includes('/containers/json')) {
			response.end('[]');
		} else {
			response.end('OK');
		}
	});
	await new Promise<void>(resolve => server.listen(socket, resolve));
	try {
		await expectEnvironmentError(['status', '--project-dir', project], /the Docker Engine at unix:\/\/.*old-engine\.sock speaks API 1\.40; rollback-console needs 1\.41 or newer/, {
			env: {DOCKER_HOST: `unix://${socket}`},
		});
	} finally {
		server.close();
	}
});

test('docker compose v2 missing', {skip: process.getuid?.() !== 0 && 'needs root to hide the compose plugin in a mount namespace'}, async () => {
	// Hide every CLI plugin directory in a private mount namespace: the real docker CLI then
	// has no compose, exactly as on a box where the plugin was never installed.
	const hide = ['/usr/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins']
		.map(d => `[ -d ${d} ] && mount -t tmpfs none ${d};`)
		.join(' ');
	await expectEnvironmentError(['status', '--project-dir', project], /docker compose v2 is not installed: install the Compose plugin/, {
		wrapper: ['unshare', '-m', 'sh', '-c', `${hide} exec "$0" "$@"`],
		env: {DOCKER_CONFIG: path.join(dir, 'no-docker-config')},
	});
});

test('usage errors: unknown command, unknown flag, empty flag value, no TTY for the console', async () => {
	await expectEnvironmentError(['statu'], /unknown command "statu" \(commands: status/);
	const unknownFlag = await runCli(['status', '--frobnicate']);
	assert.equal(unknownFlag.exitCode, 2);
	assert.equal(unknownFlag.stderr, 'rollback-console: unknown option --frobnicate (see --help)\n');
	await expectEnvironmentError(['status', '--project-dir', ''], /--project-dir needs a value/);
	await expectEnvironmentError(['status', '--yes'], /status: --yes is not an option of this command/);
	await expectEnvironmentError(['status', 'extra'], /status: unexpected argument "extra"/);
	await expectEnvironmentError([], /the console needs a terminal .* use a headless command: status/, {cwd: ROOT});
});
