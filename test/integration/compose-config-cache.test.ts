// The compose-config cache must never give a stale answer: every input compose reads is
// edited in turn and the next config() sees it at once.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {ComposeCli} from '../../source/engine/compose-cli.js';
import type {ComposeProject} from '../../source/engine/types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-config-cache-'));
after(() => rmSync(dir, {recursive: true, force: true}));

/** ComposeCli that counts how often compose itself ran. */
class CountingCompose extends ComposeCli {
	runs = 0;
	override run(...args: Parameters<ComposeCli['run']>) {
		this.runs++;
		return super.run(...args);
	}
}

function project(name: string, files: Record<string, string>): ComposeProject {
	const root = path.join(dir, name);
	for (const [file, text] of Object.entries(files)) {
		writeFileSync(path.join(root, file), text, {flag: 'w'});
	}
	return {workingDir: root, files: [path.join(root, 'compose.yaml')], name: null};
}

const write = (p: ComposeProject, file: string, text: string) => writeFileSync(path.join(p.workingDir, file), text);

test('a hit only when every input is the same; each edited input is seen at once', async () => {
	const {mkdirSync} = await import('node:fs');
	mkdirSync(path.join(dir, 'shop'));
	const env: NodeJS.ProcessEnv = {...process.env, XDG_CACHE_HOME: path.join(dir, 'cache'), TOKEN: 'first'};
	delete env['COMPOSE_FILE'];
	const p = project('shop', {
		'compose.yaml': 'services:\n  web:\n    image: "app:${TAG}"\n    env_file: [app.env]\n    environment:\n      - TOKEN\n      - LEVEL=${LEVEL:-info}\n',
		'.env': 'TAG=v1\n',
		'app.env': 'A=1\n',
	});
	const compose = new CountingCompose(env);
	const image = async () => (await compose.config(p)).services['web']!.image;
	const environment = async () => (await compose.config(p)).services['web']!;

	assert.equal(await image(), 'app:v1');
	assert.equal(compose.runs, 1);
	assert.equal(await image(), 'app:v1');
	assert.equal(compose.runs, 1, 'the second call is a hit');
	const entries = path.join(dir, 'cache', 'rollback-console', 'compose-config');
	assert.equal(statSync(entries).mode & 0o777, 0o700);

	write(p, '.env', 'TAG=v2\n');
	assert.equal(await image(), 'app:v2', '.env edited');
	write(p, 'compose.yaml', 'services:\n  web:\n    image: "app2:${TAG}"\n    env_file: [app.env]\n    environment:\n      - TOKEN\n      - LEVEL=${LEVEL:-info}\n');
	assert.equal(await image(), 'app2:v2', 'the Compose file edited');
	const runs = compose.runs;
	write(p, 'app.env', 'A=2\n');
	await environment();
	assert.equal(compose.runs, runs + 1, 'the env file edited: compose runs again');
	env['TOKEN'] = 'second';
	await environment();
	assert.equal(compose.runs, runs + 2, 'a passed-through variable changed: compose runs again');
	env['LEVEL'] = 'debug';
	await environment();
	assert.equal(compose.runs, runs + 3, 'an interpolated variable changed: compose runs again');
	env['UNRELATED'] = 'x';
	await environment();
	assert.equal(compose.runs, runs + 3, 'a variable the project does not name changes nothing');

	const off = new CountingCompose({...env, ROLLBACK_CONSOLE_CONFIG_CACHE: '0'});
	await off.config(p);
	await off.config(p);
	assert.equal(off.runs, 2, 'ROLLBACK_CONSOLE_CONFIG_CACHE=0 switches it off');
});

test('a project that includes other files is never cached', async () => {
	const {mkdirSync} = await import('node:fs');
	mkdirSync(path.join(dir, 'inc'));
	const env = {...process.env, XDG_CACHE_HOME: path.join(dir, 'cache')};
	const p = project('inc', {
		'compose.yaml': 'include:\n  - other.yaml\nservices:\n  web:\n    image: app:v1\n',
		'other.yaml': 'services:\n  worker:\n    image: worker:v1\n',
	});
	const compose = new CountingCompose(env);
	assert.equal((await compose.config(p)).services['worker']!.image, 'worker:v1');
	write(p, 'other.yaml', 'services:\n  worker:\n    image: worker:v2\n');
	assert.equal((await compose.config(p)).services['worker']!.image, 'worker:v2');
	assert.equal(compose.runs, 2);
});

test('the built CLI keeps its entries too (dist/ is a bundle: what works from source must work there)', async () => {
	const {mkdirSync, readdirSync} = await import('node:fs');
	const {runCli} = await import('../support/cli.js');
	mkdirSync(path.join(dir, 'built'));
	const p = project('built', {'compose.yaml': 'services:\n  web:\n    image: "app:${TAG:-v1}"\n    network_mode: host\n'});
	const cache = path.join(dir, 'cache-built');
	const r = await runCli(['status', '--json'], {cwd: p.workingDir, env: {XDG_CACHE_HOME: cache, COMPOSE_PROJECT_NAME: `rct-cache-${process.pid}`}});
	assert.ok(r.exitCode === 0 || r.exitCode === 1, r.stderr);
	assert.equal(readdirSync(path.join(cache, 'rollback-console', 'compose-config')).filter(f => f.endsWith('.json')).length, 1, 'status kept the config it asked compose for');
});
