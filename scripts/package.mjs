#!/usr/bin/env node
// `npm run package`: release/rollback-console-linux-<arch>, one executable with everything
// inside — the bundled code, Ink's layout engine (yoga, WebAssembly in the bundle) and the
// JavaScript runtime (Bun, from the npm registry through scripts/package-runtime) — plus
// release/SHA256SUMS. Offline once `npm install` has run. Why Bun: see the readme's Install.
//
//   1. scripts/bundle.mjs bundles the CLI and the rollback worker (behind a hidden argument)
//      into one ES module, as `npm run build` does, with the version put in;
//   2. `bun build --compile --bytecode` makes the executable from that bundle, for each
//      architecture whose Bun runtime npm installed (this machine's; the other is skipped).
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {bundle} from './bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const release = path.join(root, 'release');
const say = line => process.stderr.write(`[package] ${line}\n`);
// x64 gets Bun's baseline build: the default one needs AVX2, which some virtual CPUs hide.
const targets = [
	{arch: 'x64', runtime: '@oven/bun-linux-x64-baseline', target: 'bun-linux-x64-baseline'},
	{arch: 'arm64', runtime: '@oven/bun-linux-aarch64', target: 'bun-linux-arm64'},
];
const runtimeBinary = runtime => path.join(root, 'node_modules', runtime, 'bin', 'bun');

/** The runtime that runs the compile: this machine's. */
function hostBun() {
	const own = targets.find(t => t.arch === process.arch);
	const file = own && runtimeBinary(own.runtime);
	if (!file || !existsSync(file)) {
		throw new Error(`no Bun runtime for ${process.platform}-${process.arch} in node_modules (npm install puts it there through scripts/package-runtime)`);
	}
	return file;
}

export function compile(bundleFile, {arch, runtime, target}, outfile) {
	execFileSync(
		hostBun(),
		[
			'build', bundleFile, '--compile', '--bytecode', '--format=esm', '--minify-syntax',
			`--target=${target}`, `--compile-executable-path=${runtimeBinary(runtime)}`,
			// The box's .env is the Compose project's: never read it into the environment.
			'--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
			'--outfile', outfile,
		],
		{cwd: root, stdio: ['ignore', 'ignore', 'inherit']},
	);
	return {arch, file: outfile};
}

const sha256 = file => createHash('sha256').update(readFileSync(file)).digest('hex');

export async function packageRelease({log = say} = {}) {
	const start = Date.now();
	mkdirSync(release, {recursive: true});
	const work = path.join(release, '.build');
	rmSync(work, {recursive: true, force: true});
	mkdirSync(work, {recursive: true});
	const bundleFile = path.join(work, 'rollback-console.mjs');
	await bundle(bundleFile, {singleFile: true});
	log(`bundled ${(statSync(bundleFile).size / 1e6).toFixed(1)} MB of JavaScript in ${Date.now() - start} ms`);
	const built = [];
	for (const t of targets) {
		if (!existsSync(runtimeBinary(t.runtime))) {
			log(`linux-${t.arch}: skipped (${t.runtime} is not installed: npm installs only this machine's CPU's)`);
			continue;
		}
		const file = path.join(release, `rollback-console-linux-${t.arch}`);
		rmSync(file, {force: true});
		compile(bundleFile, t, file);
		built.push(file);
		log(`linux-${t.arch}: ${path.relative(root, file)} ${(statSync(file).size / 1e6).toFixed(1)} MB`);
	}
	writeFileSync(path.join(release, 'SHA256SUMS'), built.map(file => `${sha256(file)}  ${path.basename(file)}\n`).join(''));
	rmSync(work, {recursive: true, force: true});
	log(`wrote release/SHA256SUMS; ${((Date.now() - start) / 1000).toFixed(1)} s in all`);
	return built;
}

if (import.meta.url === `file://${process.argv[1]}`) {
	try {
		await packageRelease();
	} catch (error) {
		say(`failed: ${error.message}`);
		process.exit(1);
	}
}
