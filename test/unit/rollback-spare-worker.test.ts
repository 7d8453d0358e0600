// A worker started ahead of its plan (--yes): let go unused, or left behind by a launcher that
// died before handing it a job, it exits having done nothing and removes its directory.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {startSpareWorker} from '../../source/incident/stabilise/launch.js';
import {processAlive as alive} from '../../source/incident/operator.js';

const dirs: string[] = [];
after(() => dirs.forEach(d => rmSync(d, {recursive: true, force: true})));
const stateDir = () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-spare-'));
	dirs.push(dir);
	return dir;
};
async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
	const end = Date.now() + ms;
	while (!check()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise(resolve => setTimeout(resolve, 50));
	}
}

test('discarded (a refusal, a cancel): the spare exits and its directory goes', async () => {
	const state = stateDir();
	// Its cwd is the project; here the repository, where tsx (the worker runs from source) resolves.
	const spare = await startSpareWorker(state, process.cwd());
	assert.ok(existsSync(spare.dir), 'its output files are there while it waits');
	assert.equal(spare.alive, true);
	spare.discard();
	// The spare never holds its launcher open (unref'd): this test's own timer does, meanwhile.
	const keep = setInterval(() => {}, 1000);
	await spare.exited.finally(() => clearInterval(keep));
	assert.equal(spare.child.exitCode, 0);
	assert.equal(existsSync(spare.dir), false);
	assert.deepEqual(readdirSync(state), [], 'nothing left in the state dir, spare-workers/ included');
});

test('its launcher killed before handing it a job: the spare exits and its directory goes', async () => {
	const state = stateDir();
	const script = `
		const {startSpareWorker} = await import(${JSON.stringify(path.resolve('source/incident/stabilise/launch.ts'))});
		const spare = await startSpareWorker(${JSON.stringify(state)}, process.cwd());
		process.stdout.write(JSON.stringify({pid: spare.child.pid, dir: spare.dir}) + '\\n');
		setInterval(() => {}, 1000);
	`;
	const launcher = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'inherit']});
	let text = '';
	launcher.stdout.setEncoding('utf8');
	launcher.stdout.on('data', (chunk: string) => (text += chunk));
	await until('the spare to start', () => text.includes('\n'));
	const {pid, dir} = JSON.parse(text) as {pid: number; dir: string};
	assert.ok(alive(pid) && existsSync(dir));
	launcher.kill('SIGKILL');
	await until('the spare to exit', () => !alive(pid));
	await until('its directory to go', () => !existsSync(dir), 2000);
});

test('shown the plan, it pulls at once; let go before its job, that pull is stopped', async () => {
	const state = stateDir();
	const pidFile = path.join(state, 'pull.pid');
	// The plan's pull, as the spare runs it: a stand-in that says its pid and then takes its time.
	const plan = {
		kind: 'rollback',
		project: {name: 'shop', workingDir: process.cwd(), files: [], composeName: 'shop'},
		from: {tag: 'v2'},
		to: {tag: 'v1'},
		durable: {persist: 'env'},
		commands: [{argv: ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], args: [], env: {}, display: 'docker compose pull', skip: null}],
	} as unknown as Parameters<Awaited<ReturnType<typeof startSpareWorker>>['pull']>[0];
	const spare = await startSpareWorker(state, process.cwd());
	const keep = setInterval(() => {}, 1000);
	try {
		assert.equal(spare.pull(plan), true);
		await until('the pull to start', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
		const pull = Number(readFileSync(pidFile, 'utf8'));
		assert.ok(alive(pull));
		spare.discard();
		await spare.exited;
		await until('the pull to be stopped', () => !alive(pull), 5000);
		assert.equal(existsSync(spare.dir), false);
	} finally {
		clearInterval(keep);
	}
});
