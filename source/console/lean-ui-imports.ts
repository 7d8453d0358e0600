import module, {createRequire} from 'node:module';

// Two costs of loading the UI that buy nothing, cut where node runs the modules one by one
// (from source under tsx; dist/source in the benchmarks): the bundle is tree-shaken, and its
// build does the same to yoga.
//  - Ink imports one function, `throttle`, from `es-toolkit/compat`, whose index loads all 415
//    of its modules (the largest part of the console's start-up on a small box). Its own file
//    is enough; only Ink's import is redirected.
//  - yoga's Emscripten loader fetch()es its own embedded data: URL when fetch exists, and the
//    first fetch loads undici (~35 ms of CPU); without fetch it decodes the same bytes itself.
//    A build whose text differs is left as it is.
// And React's production build, as the single file has it (esbuild defines NODE_ENV): the
// development build's checks cost more CPU than the rest of a render under a log flood.
const yogaBinary = /\/node_modules\/yoga-layout\/dist\/binaries\/yoga-wasm-base64-esm\.js$/;
const yogaFetchTest = '"function"!=typeof fetch';

/** Set (esbuild define) in the bundle, which has all of this done at build time (scripts/bundle.mjs). */
declare const ROLLBACK_CONSOLE_PACKAGE: unknown;

export function leanUiImports(): void {
	if (typeof ROLLBACK_CONSOLE_PACKAGE !== 'undefined') return;
	productionReact();
	module.registerHooks?.({
		resolve(specifier, context, next) {
			const resolved = next(specifier, context);
			if (specifier === 'es-toolkit/compat' && context.parentURL?.includes('/node_modules/ink/')) {
				return {...resolved, url: resolved.url.replace(/\/dist\/compat\/index\.mjs$/, '/dist/compat/function/throttle.mjs')};
			}
			return resolved;
		},
		load(url, context, next) {
			const loaded = next(url, context);
			if (!yogaBinary.test(url) || loaded.source === undefined) return loaded;
			const source = typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
			return source.includes(yogaFetchTest) ? {...loaded, source: source.replace(yogaFetchTest, '!0')} : loaded;
		},
	});
}

/**
 * Loads React's entry points with NODE_ENV=production, synchronously, and puts NODE_ENV back
 * at once: Ink's later `import` finds them in the module cache, and no child process (compose,
 * the rollback worker) ever sees the variable, which a Compose file may interpolate.
 */
function productionReact(): void {
	// Through a variable: the single file's bundler replaces `process.env.NODE_ENV` itself with a constant.
	const env = process.env;
	if (env['NODE_ENV'] !== undefined) return;
	const require = createRequire(import.meta.url);
	env['NODE_ENV'] = 'production';
	try {
		for (const entry of ['react', 'react/jsx-runtime', 'react-reconciler', 'react-reconciler/constants.js', 'scheduler']) {
			try {
				require(entry);
			} catch {
				// Not installed beside us (a different layout): that entry stays as Ink loads it.
			}
		}
	} finally {
		delete env['NODE_ENV'];
	}
}
