// `rollback-console rollback --to TAG --yes` against the two raw compose commands it runs
// (`docker compose pull --policy always <release services>` then `docker compose up -d
// --wait --wait-timeout 60`), on the same stack, alternating in one run. Each run really
// switches the release (v1.3.8 ↔ v1.3.9), so every run recreates the release services.
// Goal: ratio ≤ 1.05.
import {spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {CLI} from '../test/support/cli.js';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {median} from './measure.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
await ensureTestReleases();
const stack = await createStack({tag: 'v1.3.9'});
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-bench-state-'));
// The stack's variables come from its .env, as on a production box.
const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1'};
for (const key of ['IMAGE_TAG', 'WEB_PORT', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME']) delete env[key];

function timed(command: string[], extraEnv: NodeJS.ProcessEnv = {}): number {
	const start = process.hrtime.bigint();
	const result = spawnSync(command[0]!, command.slice(1), {cwd: stack.dir, env: {...env, ...extraEnv}, stdio: ['ignore', 'ignore', 'pipe']});
	const ms = Number(process.hrtime.bigint() - start) / 1e6;
	if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}: ${result.stderr}`);
	return ms;
}

const ours = (tag: string) => timed([process.execPath, CLI, 'rollback', '--to', tag, '--yes', '--state-dir', stateDir]);
const raw = (tag: string) =>
	timed(['docker', 'compose', 'pull', '--policy', 'always', 'web', 'worker'], {IMAGE_TAG: tag}) +
	timed(['docker', 'compose', 'up', '-d', '--wait', '--wait-timeout', '60'], {IMAGE_TAG: tag});

try {
	await stack.up({wait: true});
	const times = {ours: [] as number[], raw: [] as number[]};
	let tag = 'v1.3.8';
	const flip = () => (tag = tag === 'v1.3.8' ? 'v1.3.9' : 'v1.3.8');
	// One warm-up each: page cache, compile cache, image layers.
	ours(tag);
	flip();
	raw(tag);
	flip();
	for (let i = 0; i < rounds; i++) {
		const order = i % 2 === 0 ? (['ours', 'raw'] as const) : (['raw', 'ours'] as const);
		for (const who of order) {
			times[who].push(who === 'ours' ? ours(tag) : raw(tag));
			flip();
		}
	}
	const a = median(times.ours);
	const b = median(times.raw);
	console.log(`rollback-console rollback --to TAG --yes     median ${a.toFixed(0)} ms  (${times.ours.map(t => t.toFixed(0)).join(' ')})`);
	console.log(`docker compose pull --policy always + up --wait  median ${b.toFixed(0)} ms  (${times.raw.map(t => t.toFixed(0)).join(' ')})`);
	console.log(`rollback ratio (ours / raw compose): ${(a / b).toFixed(3)}  (goal ≤ 1.05)`);
} finally {
	await stack.down();
	rmSync(stateDir, {recursive: true, force: true});
}
