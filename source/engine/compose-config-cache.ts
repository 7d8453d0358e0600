// `docker compose config` costs a child process and most of `status`'s time. Its answer
// depends only on what compose reads — the Compose files, .env, env files, the environment
// variables they name, COMPOSE_* settings and compose itself — so it is kept, per user, with
// the sha256 of every one of those inputs, and used again only when every input is still
// the same. Any doubt (include/extends, an unreadable file, a parse error) means no cache.
import {readFileSync, statSync} from 'node:fs';
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {ComposeProject} from './types.js';

const format = 1;

interface Entry {
	format: number;
	/** Every file compose read, with its sha256 (null: it did not exist). */
	files: Array<{path: string; sha256: string | null}>;
	/** Every environment variable the files name, with its value (null: unset). */
	env: Record<string, string | null>;
	stdout: string;
}

/** Where the entries live; null when the cache is switched off (ROLLBACK_CONSOLE_CONFIG_CACHE=0). */
export function configCacheDir(env: NodeJS.ProcessEnv): string | null {
	if (env['ROLLBACK_CONSOLE_CONFIG_CACHE'] === '0') return null;
	const base = env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache');
	return path.join(base, 'rollback-console', 'compose-config');
}

// node:crypto as its CommonJS object: an ES import reads every export, and crypto.webcrypto's
// getter loads WebCrypto (~4 ms of `status`).
const sha256 = (data: string | Buffer) => process.getBuiltinModule('node:crypto').createHash('sha256').update(data).digest('hex');

// Synchronous: a few small files, and each async fs call is a hop through libuv's thread pool,
// which on a loaded box waits its turn for the CPU (milliseconds each, on `status`'s path).
function hashFile(file: string): string | null {
	try {
		return sha256(readFileSync(file));
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
		throw error;
	}
}

function stampOf(file: string): string {
	try {
		const s = statSync(file);
		return `${s.size}:${s.mtimeMs}`;
	} catch {
		return 'missing';
	}
}

/** The entry's name: what compose is asked (command, binary, project) and how (COMPOSE_* settings). */
function entryName(command: readonly string[], project: ComposeProject, env: NodeJS.ProcessEnv): string {
	const binary = command[0]!;
	const stamp = path.isAbsolute(binary) ? stampOf(binary) : 'PATH';
	const settings = Object.keys(env)
		.filter(name => name.startsWith('COMPOSE_'))
		.sort()
		.map(name => `${name}=${env[name]}`);
	return sha256(JSON.stringify([format, command, stamp, project.workingDir, project.files, project.name, settings]));
}

/** `$NAME`, `${NAME}`, `${NAME:-default}` … in a file's text (`$$` escapes are harmless extras). */
const referencedNames = (text: string) => [...text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map(m => m[1]!);

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);

/**
 * What compose reads for this project besides the Compose files: .env, env files, and the
 * names of environment variables it takes from the caller. Null when the project pulls in
 * files we do not follow (include, extends with a file), so it is never cached.
 */
async function inputsOf(project: ComposeProject, env: NodeJS.ProcessEnv): Promise<{files: string[]; names: Set<string>} | null> {
	// yaml is CommonJS: its exports are the module's default wherever it is imported from (the
	// bundle's chunk of it has no named ones, and the cache was never written from dist/).
	const {parse} = (await import('yaml')).default;
	const files = [...project.files, path.join(project.workingDir, '.env')];
	for (const extra of (env['COMPOSE_ENV_FILES'] ?? '').split(',').filter(Boolean)) files.push(path.resolve(project.workingDir, extra));
	const names = new Set<string>();
	for (const file of project.files) {
		const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown> | null;
		if (!doc || typeof doc !== 'object') continue;
		if (doc['include'] !== undefined) return null;
		for (const service of Object.values((doc['services'] ?? {}) as Record<string, Record<string, unknown> | null>)) {
			if (!service || typeof service !== 'object') continue;
			const extendsFrom = service['extends'] as {file?: unknown} | string | undefined;
			if (extendsFrom && typeof extendsFrom === 'object' && extendsFrom.file !== undefined) return null;
			for (const key of ['env_file', 'label_file']) {
				for (const entry of asList(service[key])) {
					const where = typeof entry === 'string' ? entry : (entry as {path?: unknown})?.path;
					if (typeof where !== 'string') return null;
					files.push(path.resolve(path.dirname(file), where));
				}
			}
			// `environment: [TOKEN]` or `TOKEN:` with no value passes the caller's TOKEN through.
			const environment = service['environment'];
			if (Array.isArray(environment)) {
				for (const item of environment) if (typeof item === 'string' && !item.includes('=')) names.add(item.trim());
			} else if (environment && typeof environment === 'object') {
				for (const [name, value] of Object.entries(environment)) if (value === null) names.add(name);
			}
		}
	}
	return {files, names};
}

const hashOrUnreadable = (file: string) => {
	try {
		return hashFile(file);
	} catch {
		return 'unreadable';
	}
};

function read(dir: string, name: string, env: NodeJS.ProcessEnv): string | null {
	let entry: Entry;
	try {
		entry = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Entry;
	} catch {
		return null;
	}
	if (entry.format !== format) return null;
	for (const [variable, value] of Object.entries(entry.env)) if ((env[variable] ?? null) !== value) return null;
	return entry.files.every(f => hashOrUnreadable(f.path) === f.sha256) ? entry.stdout : null;
}

/** The inputs as they are now: each file's sha256 and each named variable's value. */
async function snapshot(project: ComposeProject, env: NodeJS.ProcessEnv): Promise<Omit<Entry, 'stdout'> | null> {
	const inputs = await inputsOf(project, env);
	if (!inputs) return null;
	const files = inputs.files.map(file => ({path: file, sha256: hashFile(file)}));
	const texts = await Promise.all(files.filter(f => f.sha256 !== null).map(f => readFile(f.path, 'utf8')));
	const names = new Set([...inputs.names, ...texts.flatMap(referencedNames)]);
	return {format, files, env: Object.fromEntries([...names].sort().map(n => [n, env[n] ?? null]))};
}

async function write(dir: string, name: string, entry: Entry): Promise<void> {
	// The config holds the services' environment, secrets included: the user's eyes only.
	await mkdir(dir, {recursive: true, mode: 0o700});
	const file = path.join(dir, `${name}.json`);
	const temp = `${file}.${process.pid}.tmp`;
	await writeFile(temp, JSON.stringify(entry), {mode: 0o600});
	await rename(temp, file);
}

/**
 * compose's `config --format json` output for the project: from the cache when every input
 * is unchanged, else from `run` (then kept). The cache never fails a call: any error in it
 * means running compose.
 */
export async function cachedConfig(
	command: readonly string[],
	project: ComposeProject,
	env: NodeJS.ProcessEnv,
	run: () => Promise<{stdout: string; stderr: string; exitCode: number}>,
): Promise<{stdout: string; stderr: string; exitCode: number; cached: boolean}> {
	const dir = configCacheDir(env);
	let name: string | null = null;
	try {
		name = dir ? entryName(command, project, env) : null;
		const hit = dir && name ? read(dir, name, env) : null;
		if (hit !== null) return {stdout: hit, stderr: '', exitCode: 0, cached: true};
	} catch {
		// Any doubt: ask compose.
	}
	// The inputs are read before compose runs and checked again after: a file edited while
	// compose read it is never kept with an answer from its other version.
	const before = dir && name ? await snapshot(project, env).catch(() => null) : null;
	const result = await run();
	if (dir && name && before && result.exitCode === 0) {
		if (before.files.every(f => hashOrUnreadable(f.path) === f.sha256)) await write(dir, name, {...before, stdout: result.stdout}).catch(() => {});
	}
	return {...result, cached: false};
}
