import type {HealthTarget} from '../engine/health-probe-types.js';
import {ConsoleError} from '../errors.js';
import {patternProblem} from './redaction.js';

/** The project's `x-rollback-console` settings, with every default filled in. */
export interface Settings {
	release: {
		variable: string;
		services: string[] | null;
		persist: 'env' | 'override' | 'none';
		/** Present (true) when the Compose file names the variable itself. */
		variableSet?: true;
		/** `owner/name`: its GitHub releases join the rollback candidates. */
		github?: string;
	};
	health: HealthTarget[];
	database: {service: string; engine: string; migrationsTable: string | null} | null;
	disk: {thresholdPercent: number; retainReleases: number};
	/** Extra redaction patterns for evidence; present only when the Compose file sets them. */
	redact?: {patterns: string[]};
}

type Raw = Record<string, unknown>;

const fail = (key: string, problem: string) =>
	new ConsoleError(`x-rollback-console.${key}: ${problem} (in the Compose file)`);

function object(value: unknown, key: string): Raw {
	if (value === undefined || value === null) return {};
	if (typeof value !== 'object' || Array.isArray(value)) throw fail(key, 'expected a mapping');
	return value as Raw;
}

function onlyKeys(value: Raw, key: string, allowed: string[]): void {
	for (const k of Object.keys(value)) {
		if (!allowed.includes(k)) throw fail(`${key}.${k}`.replace(/^\./, ''), `unknown key (known: ${allowed.join(', ')})`);
	}
}

function string(value: unknown, key: string, fallback: string): string {
	if (value === undefined || value === null) return fallback;
	if (typeof value !== 'string' || value.length === 0) throw fail(key, 'expected a non-empty string');
	return value;
}

function integer(value: unknown, key: string, fallback: number, min: number, max: number): number {
	if (value === undefined || value === null) return fallback;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
		throw fail(key, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
	}
	return n;
}

export function parseSettings(extension: unknown): Settings {
	const root = object(extension, '');
	onlyKeys(root, '', ['release', 'health', 'database', 'disk', 'redact']);

	const release = object(root['release'], 'release');
	onlyKeys(release, 'release', ['variable', 'services', 'persist', 'github']);
	const variable = string(release['variable'], 'release.variable', 'IMAGE_TAG');
	if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw fail('release.variable', `"${variable}" is not a variable name`);
	let services: string[] | null = null;
	if (release['services'] !== undefined) {
		const list = release['services'];
		if (!Array.isArray(list) || list.some(s => typeof s !== 'string')) throw fail('release.services', 'expected a list of service names');
		services = list as string[];
	}
	const persist = string(release['persist'], 'release.persist', 'env');
	if (persist !== 'env' && persist !== 'override' && persist !== 'none') {
		throw fail('release.persist', `expected env, override or none, got "${persist}"`);
	}
	const github = release['github'] === undefined ? null : string(release['github'], 'release.github', '');
	if (github !== null && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(github)) throw fail('release.github', `"${github}" is not owner/name`);

	const rawHealth = root['health'] ?? [];
	if (!Array.isArray(rawHealth)) throw fail('health', 'expected a list of {url, headers, expect}');
	const health = rawHealth.map((entry, i) => {
		const key = `health[${i}]`;
		const item = object(entry, key);
		onlyKeys(item, key, ['url', 'headers', 'expect', 'timeout_ms']);
		const url = string(item['url'], `${key}.url`, '');
		if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw fail(`${key}.url`, `"${url}" is not an http(s) URL`);
		const headers: Record<string, string> = {};
		for (const [name, value] of Object.entries(object(item['headers'], `${key}.headers`))) {
			headers[name] = string(value, `${key}.headers.${name}`, '');
		}
		const expect = object(item['expect'], `${key}.expect`);
		onlyKeys(expect, `${key}.expect`, ['status']);
		return {
			url,
			headers,
			expectStatus: integer(expect['status'], `${key}.expect.status`, 200, 100, 599),
			timeoutMs: integer(item['timeout_ms'], `${key}.timeout_ms`, 5000, 100, 120_000),
		};
	});

	let database: Settings['database'] = null;
	if (root['database'] !== undefined && root['database'] !== null) {
		const db = object(root['database'], 'database');
		onlyKeys(db, 'database', ['service', 'engine', 'migrations_table']);
		database = {
			service: string(db['service'], 'database.service', ''),
			engine: string(db['engine'], 'database.engine', 'none'),
			migrationsTable: db['migrations_table'] === undefined ? null : string(db['migrations_table'], 'database.migrations_table', ''),
		};
		if (!database.service) throw fail('database.service', 'required when database is set');
	}

	const disk = object(root['disk'], 'disk');
	onlyKeys(disk, 'disk', ['threshold_percent', 'retain_releases']);
	const redact = parseRedact(root['redact']);
	return {
		release: {variable, services, persist, ...(release['variable'] !== undefined ? {variableSet: true as const} : {}), ...(github ? {github} : {})},
		health,
		database,
		disk: {
			thresholdPercent: integer(disk['threshold_percent'], 'disk.threshold_percent', 80, 1, 100),
			retainReleases: integer(disk['retain_releases'], 'disk.retain_releases', 5, 1, 100),
		},
		...(redact ? {redact} : {}),
	};
}

function parseRedact(value: unknown): Settings['redact'] | null {
	if (value === undefined || value === null) return null;
	const redact = object(value, 'redact');
	onlyKeys(redact, 'redact', ['patterns']);
	const list = redact['patterns'] ?? [];
	if (!Array.isArray(list)) throw fail('redact.patterns', 'expected a list of regular expressions');
	const patterns = list.map((pattern, i) => {
		const key = `redact.patterns[${i}]`;
		if (typeof pattern !== 'string' || pattern === '') throw fail(key, 'expected a regular expression as a string');
		const problem = patternProblem(pattern);
		if (problem) throw fail(key, problem);
		return pattern;
	});
	return {patterns};
}
