import module from 'node:module';

// dockerode loads gRPC and protobuf at start-up for BuildKit sessions, and docker-modem
// loads ssh2 for ssh:// engines. We use neither of the first two, and ssh2 only when
// DOCKER_HOST is ssh://: together they are a third of a headless command's start-up.
// Resolve them to an empty module instead; anything that did use one would fail loudly.
const stub = 'rollback-console:unused/';

/** Set (esbuild define) in the bundle, whose build stubs these modules itself (scripts/bundle.mjs). */
declare const ROLLBACK_CONSOLE_PACKAGE: unknown;

export function skipUnusedModules(env: NodeJS.ProcessEnv = process.env): void {
	if (typeof ROLLBACK_CONSOLE_PACKAGE !== 'undefined') return;
	const unused = new Set(['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs']);
	if (!env['DOCKER_HOST']?.startsWith('ssh://')) unused.add('ssh2');
	module.registerHooks?.({
		resolve(specifier, context, next) {
			if (unused.has(specifier)) return {url: `${stub}${specifier}`, format: 'commonjs', shortCircuit: true};
			return next(specifier, context);
		},
		load(url, context, next) {
			if (url.startsWith(stub)) {
				const name = url.slice(stub.length);
				// Property reads at load time must work (`require('ssh2').Client`); using one throws.
				return {
					format: 'commonjs',
					source: `const fail = () => { throw new Error('rollback-console: ${name} was skipped at start-up but is needed'); };
module.exports = new Proxy({}, {get: (_, key) => key === '__esModule' || typeof key === 'symbol' ? undefined : fail});`,
					shortCircuit: true,
				};
			}
			return next(url, context);
		},
	});
}
