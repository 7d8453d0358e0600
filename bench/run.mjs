#!/usr/bin/env node
// `npm run bench [-- NAME…]`: builds (and packages, for bench/package.ts), then runs each benchmark (bench/*.ts) with tsx.
import {spawnSync} from 'node:child_process';
import {globSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ensureEngine} from '../scripts/ensure-engine.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const wanted = process.argv.slice(2);
const run = args => spawnSync(process.execPath, args, {cwd: root, stdio: 'inherit'}).status ?? 1;

if (run([path.join(root, 'scripts/build.mjs')]) !== 0) process.exit(1);
// bench/package.ts times the single file: `npm run package` first.
if ((wanted.length === 0 || wanted.includes('package')) && run([path.join(root, 'scripts/package.mjs')]) !== 0) process.exit(1);
const engine = await ensureEngine({log: line => process.stderr.write(`${line}\n`)});
if (!engine.ok) {
	process.stderr.write(`bench: ${engine.reason}\n`);
	process.exit(2);
}
let failed = 0;
for (const file of globSync('bench/*.ts', {cwd: root}).sort()) {
	const name = path.basename(file, '.ts');
	if (name === 'measure' || (wanted.length > 0 && !wanted.includes(name))) continue;
	console.log(`\n== ${name}`);
	const began = performance.now();
	failed += run(['--import', 'tsx', file]) === 0 ? 0 : 1;
	console.log(`(${name}: ${((performance.now() - began) / 1000).toFixed(0)} s)`);
}
console.log(`\nbenchmarks: ${(performance.now() / 1000).toFixed(0)} s (goal: npm run bench under 3 minutes, build included); load ${(await import('node:os')).loadavg().map(l => l.toFixed(1)).join(' ')}`);
process.exit(failed ? 1 : 0);
