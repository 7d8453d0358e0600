// The demo the readme's first command opens: a good release, then a crash-looping one.
// (It uses the demo's own project and port 18080, so it replaces a demo you have running.)
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
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
	assert.ok(['restarting', 'exited', 'running'].includes(web['state']));
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
