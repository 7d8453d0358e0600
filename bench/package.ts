// The single file (release/rollback-console-linux-<arch>, built by bench/run.mjs with
// `npm run package`) against the npm-installed CLI (Node + dist/cli.js, what
// `npm install -g rollback-console` runs): `status --json` on the same project, side by side
// in one run. Goal: ratio ≤ 1.00, and the file under 100 MB.
import {statSync} from 'node:fs';
import path from 'node:path';
import {CLI, ROOT} from '../test/support/cli.js';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {compare} from './measure.js';

const binary = path.join(ROOT, 'release', `rollback-console-linux-${process.arch}`);
const size = statSync(binary).size;
await ensureTestReleases();
const stack = await createStack({tag: 'v1.3.9'});
try {
	await stack.up({wait: true});
	const single = 'single file status --json';
	const npm = `npm CLI (node ${process.version}) status --json`;
	const medians = compare([
		{name: single, command: [binary, 'status', '--json'], cwd: stack.dir},
		{name: npm, command: [process.execPath, CLI, 'status', '--json'], cwd: stack.dir},
	]);
	for (const [name, ms] of medians) console.log(`${name.padEnd(44)} median ${ms.toFixed(1)} ms`);
	console.log(`package start-up ratio (single file / npm CLI): ${(medians.get(single)! / medians.get(npm)!).toFixed(2)}  (goal ≤ 1.00)`);
	console.log(`package size: ${(size / 1e6).toFixed(1)} MB  (goal < 100 MB)`);
} finally {
	await stack.down();
}
