// The demo the readme's first command opens: a good release, then a crash-looping one.
// (It uses the demo's own project and port 18080, so it replaces a demo you have running.)
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {createServer} from 'node:net';
import path from 'node:path';
import {after, test} from 'node:test';
import {setTimeout as delay} from 'node:timers/promises';
import {promisify} from 'node:util';
import {ROOT, runCli} from '../support/cli.js';

const demo = (...args: string[]) => promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'demo.mjs'), ...args], {cwd: ROOT, timeout: 240_000});
const status = async () => {
	const result = await runCli(['status', '--json', '--project-dir', 'demo']);
	return {exitCode: result.exitCode, json: JSON.parse(result.stdout) as {services: Array<Record<string, any>>}};
};

after(() => demo('--reset'));

test('the demo shows the crash-looping release, and after --reset a redeploy of v1.3.9 is healthy', async () => {
	await demo('--no-console');
	let web: Record<string, any> | undefined;
	let exitCode = 0;
	for (let i = 0; i < 60; i++) {
		({exitCode, json: {services: [web]}} = await status());
		if (web && web['restartCount'] >= 1 && web['exitCode'] === 2) break;
		await delay(500);
	}
	assert.equal(exitCode, 1);
	assert.ok(web);
	assert.equal(web['service'], 'web');
	assert.ok(['restarting', 'exited', 'running', 'crash-looping'].includes(web['state']), web['state']);
	assert.ok(web['restartCount'] >= 1);
	assert.equal(web['exitCode'], 2);
	assert.equal(web['image'].tag, 'v1.4.0');

	await demo('--reset');
	await demo('--no-console', '--good');
	const healthy = await status();
	assert.equal(healthy.exitCode, 0);
	assert.ok(healthy.json.services.every(s => s['ok'] === true));
	assert.ok(healthy.json.services.filter(s => s['service'] !== 'db').every(s => s['image'].tag === 'v1.3.9'));
});

test('with 127.0.0.1:18080 taken by another program the demo picks a free port before changing anything, and re-running it is harmless', async () => {
	await demo('--reset');
	const squatter = createServer(socket => socket.end('not the demo\n'));
	const listening = await new Promise<boolean>(resolve => {
		squatter.once('error', () => resolve(false));
		squatter.listen({host: '127.0.0.1', port: 18080}, () => resolve(true));
	});
	try {
		const {stdout} = await demo('--no-console', '--good');
		const port = Number(/^WEB_PORT=(\d+)$/m.exec(readFileSync(path.join(ROOT, 'demo', '.env'), 'utf8'))?.[1]);
		if (listening) {
			assert.match(stdout, /127\.0\.0\.1:18080 is taken by another program: the demo's web uses 127\.0\.0\.1:\d+/);
			assert.ok(port > 0 && port !== 18080, `WEB_PORT=${port}`);
		}
		const healthy = await status();
		assert.equal(healthy.exitCode, 0, JSON.stringify(healthy.json.services.map(s => [s['service'], s['state'], s['health']])));
		const response = await fetch(`http://127.0.0.1:${port || 18080}/health`);
		assert.equal(response.status, 200);
		// Again, and then the whole story: v1.3.9 already runs, which is fine.
		const again = await demo('--no-console', '--good');
		assert.match(again.stdout, /v1\.3\.9 already runs/);
		await demo('--no-console');
		assert.equal((await status()).exitCode, 1);
	} finally {
		squatter.close();
	}
});
