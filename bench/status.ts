// `rollback-console status --json` against `docker compose ps --format json`, same project,
// measured side by side in one run. Goal: ratio ≤ 1.0 (headless commands start fast).
import {CLI} from '../test/support/cli.js';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {compare} from './measure.js';

await ensureTestReleases();
const stack = await createStack({tag: 'v1.3.9'});
try {
	await stack.up({wait: true});
	const medians = compare([
		{name: 'rollback-console status --json', command: [process.execPath, CLI, 'status', '--json'], cwd: stack.dir},
		{name: 'docker compose ps --format json', command: ['docker', 'compose', 'ps', '--format', 'json'], cwd: stack.dir},
	]);
	const ours = medians.get('rollback-console status --json')!;
	const theirs = medians.get('docker compose ps --format json')!;
	for (const [name, ms] of medians) console.log(`${name.padEnd(34)} median ${ms.toFixed(1)} ms`);
	console.log(`status ratio (ours / compose ps): ${(ours / theirs).toFixed(2)}  (goal ≤ 1.00)`);
} finally {
	await stack.down();
}
