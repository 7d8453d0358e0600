// Values in smoke checks: `${VAR}` (or `$VAR`) from the operator's environment at verify
// time — write `$${VAR}` in the Compose file so compose leaves it for us (its config output
// keeps it as `$${VAR}`: `$$` is a dollar) — and `{{name}}` for a value a flow saved from an
// earlier response (`{{run}}`: this run's own id).

/** `$$` → `$`, as compose's config output escapes a literal dollar. */
const unescape = (value: string) => value.replaceAll('$$', '$');

const envPattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const savedPattern = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;

/** The environment variables a value needs that are unset or empty. */
export function missingVariables(value: string, env: NodeJS.ProcessEnv): string[] {
	const missing = new Set<string>();
	for (const match of unescape(value).matchAll(envPattern)) {
		const name = match[1] ?? match[2]!;
		if (!env[name]) missing.add(name);
	}
	return [...missing];
}

/** Fills `${VAR}` from `env` and `{{name}}` from `saved`; names what is missing instead of sending blanks. */
export function fill(value: string, env: NodeJS.ProcessEnv, saved: Readonly<Record<string, string>>): {value: string; missing: string[]; unsaved: string[]} {
	const missing = missingVariables(value, env);
	const unsaved = new Set<string>();
	const filled = unescape(value)
		.replace(envPattern, (_, braced: string | undefined, bare: string | undefined) => env[braced ?? bare!] ?? '')
		.replace(savedPattern, (_, name: string) => {
			if (saved[name] === undefined) {
				unsaved.add(name);
				return '';
			}
			return saved[name];
		});
	return {value: filled, missing, unsaved: [...unsaved]};
}

/** Reads `token`, `data.items[0].id`, `$.user.id`, `items.0.id` from a parsed JSON value. */
export function jsonPath(value: unknown, path: string): unknown {
	const parts = path
		.replace(/^\$\.?/, '')
		.replace(/\[(\d+)\]/g, '.$1')
		.split('.')
		.filter(p => p !== '');
	let current: unknown = value;
	for (const part of parts) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}
