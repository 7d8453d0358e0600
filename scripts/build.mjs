#!/usr/bin/env node
// `npm run build`: dist/ as npm installs it.
//   1. tsc type-checks everything and emits dist/source/ (the benchmarks load the console's
//      modules from there, one by one);
//   2. scripts/bundle.mjs bundles the CLI into dist/rollback-console.mjs, and what it loads
//      only when needed (a command, the console, dockerode) into dist/chunks/;
//   3. dist/cli.js, the bin, turns Node's compile cache on and imports the bundle: the cache
//      must be on before the bundle is compiled, so the bundle cannot do it itself.
import {spawnSync} from 'node:child_process';
import {readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {bundle, root} from './bundle.mjs';

const say = line => process.stderr.write(`[build] ${line}\n`);
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {cwd: root, stdio: 'inherit'});
if (tsc.status !== 0) {
	say('tsc failed');
	process.exit(1);
}
rmSync(path.join(root, 'dist', 'chunks'), {recursive: true, force: true});
try {
	await bundle(path.join(root, 'dist', 'rollback-console.mjs'));
} catch (error) {
	say(`bundling failed: ${error.message}`);
	process.exit(1);
}
// The node flags of cli.tsx's #! line (the console's memory under a log flood) stay the bin's.
const shebang = readFileSync(path.join(root, 'cli.tsx'), 'utf8').split('\n', 1)[0];
writeFileSync(
	path.join(root, 'dist', 'cli.js'),
	`${shebang}
// Built by scripts/build.mjs from cli.tsx: the compile cache first, then the bundled CLI.
import module from 'node:module';
module.enableCompileCache?.();
await import('./rollback-console.mjs');
`,
	{mode: 0o755},
);
rmSync(path.join(root, 'dist', 'cli.js.map'), {force: true});
