import module from 'node:module';

// Ink imports one function, `throttle`, from `es-toolkit/compat`, whose index loads all 415 of
// its modules: the largest part of the console's start-up on a small box. Its own file is
// enough. Only for Ink's import (anything else keeps the index) and only where node runs
// dist/ (the single file is bundled, tree-shaken, and has no loader hooks to register).
export function leanUiImports(): void {
	module.registerHooks?.({
		resolve(specifier, context, next) {
			const resolved = next(specifier, context);
			if (specifier === 'es-toolkit/compat' && context.parentURL?.includes('/node_modules/ink/')) {
				return {...resolved, url: resolved.url.replace(/\/dist\/compat\/index\.mjs$/, '/dist/compat/function/throttle.mjs')};
			}
			return resolved;
		},
	});
}
