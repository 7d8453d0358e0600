// One esbuild bundle of the CLI and the rollback worker (scripts/package-entry.mjs), for both
// `npm run build` (dist/, run by Node) and `npm run package` (the single file, run by Bun).
// Node spends more of the console's start resolving and linking ~340 separate ES modules than
// running them: one file, compiled once into Node's compile cache, draws the first frame in
// about 60% of the time (readme, Performance).
import {execFileSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {build} from 'esbuild';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const WORKER_ARG = '--rollback-console-worker';

export function gitCommit() {
	try {
		const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim();
		const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim();
		return dirty ? `${sha}-dirty` : sha;
	} catch {
		return 'unknown';
	}
}

// dockerode requires gRPC and protobuf at load for BuildKit sessions, which we never use: they
// become a module that fails loudly if ever used. ssh2 (docker-modem loads it at once, for
// ssh:// engines) is bundled but evaluated only when a DOCKER_HOST=ssh:// engine uses it.
const unusedModules = {
	name: 'unused-modules',
	setup(b) {
		b.onResolve({filter: /^(@grpc\/grpc-js|@grpc\/proto-loader|protobufjs|react-devtools-core)$/}, args => ({path: args.path, namespace: 'unused'}));
		b.onLoad({filter: /.*/, namespace: 'unused'}, args => ({
			loader: 'js',
			contents: `const fail = () => { throw new Error('rollback-console: ${args.path} is not in the bundle'); };
module.exports = new Proxy({}, {get: (_, key) => key === '__esModule' || typeof key === 'symbol' ? undefined : fail});`,
		}));
		b.onResolve({filter: /^ssh2$/}, () => ({path: 'ssh2', namespace: 'deferred'}));
		b.onLoad({filter: /.*/, namespace: 'deferred'}, () => ({
			loader: 'js',
			resolveDir: root,
			contents: `let real;
const load = () => (real ??= require('ssh2/lib/index.js'));
// Each export stands in for the real one until it is called or constructed.
module.exports = new Proxy({}, {get: (_, key) => key === '__esModule' || typeof key === 'symbol' ? undefined : new Proxy(function () {}, {
	construct: (_t, args) => Reflect.construct(load()[key], args),
	apply: (_t, self, args) => Reflect.apply(load()[key], self, args),
	get: (_t, name) => load()[key][name],
})});`,
		}));
		// Native addons are optional everywhere they are required (ssh2's crypto, cpu-features):
		// left out, their require fails inside a try and the JavaScript fallback is used.
		b.onResolve({filter: /\.node$|^cpu-features$/}, args => ({path: args.path, namespace: 'absent'}));
		b.onLoad({filter: /.*/, namespace: 'absent'}, args => ({loader: 'js', contents: `throw new Error('${args.path} is not in the bundle');`}));
	},
};

// yoga's Emscripten loader fetch()es its own embedded data: URL when fetch exists, and Node's
// first fetch loads undici (~20–35 ms of CPU before the first frame); without fetch it decodes
// the same bytes itself. A yoga whose text differs is bundled as it is.
const yogaWithoutFetch = {
	name: 'yoga-without-fetch',
	setup(b) {
		b.onLoad({filter: /[\\/]yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/}, async args => ({
			loader: 'js',
			contents: readFileSync(args.path, 'utf8').replace('"function"!=typeof fetch', '!0'),
		}));
	},
};

/**
 * Bundles the CLI: for Node (dist/), the entry and what it loads only when needed (a command,
 * the console, dockerode) in chunks beside it; for the single file, one ES module.
 */
export async function bundle(outfile, {singleFile = false} = {}) {
	const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
	return build({
		entryPoints: {[path.basename(outfile, '.mjs')]: path.join(root, 'scripts', 'package-entry.mjs')},
		...(singleFile ? {outfile} : {outdir: path.dirname(outfile), splitting: true, chunkNames: 'chunks/[name]-[hash]', outExtension: {'.js': '.mjs'}}),
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: 'node22',
		minify: true,
		legalComments: 'none',
		metafile: true,
		logLevel: 'warning',
		jsx: 'automatic',
		define: {
			ROLLBACK_CONSOLE_PACKAGE: JSON.stringify({version: pkg.version, description: pkg.description}),
			ROLLBACK_CONSOLE_COMMIT: JSON.stringify(gitCommit()),
			ROLLBACK_CONSOLE_WORKER_ARG: JSON.stringify(WORKER_ARG),
			'process.env.NODE_ENV': '"production"',
		},
		// CommonJS packages inside an ES module bundle still call require() for node builtins.
		banner: {js: "import {createRequire as __rcCreateRequire} from 'node:module'; const require = __rcCreateRequire(import.meta.url);"},
		plugins: [unusedModules, yogaWithoutFetch],
	});
}
