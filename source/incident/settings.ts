import type {HealthTarget} from '../engine/health-probe-types.js';
import {ConsoleError} from '../errors.js';
import {patternProblem} from './redaction.js';
import {parseNotify, type NotifySettings} from './follow-up/notify-settings.js';
import {duration, parseSmoke, parseVerify, type SmokeEntry, type VerifySettings} from './verify/settings.js';

/** The project's `x-rollback-console` settings, with every default filled in. */
export interface Settings {
	release: {
		variable: string;
		services: string[] | null;
		persist: 'env' | 'override' | 'none';
		/** How long the rollback worker's pull may take: a registry that stops answering mid-pull must not hold the project for ever. */
		pullTimeoutMs?: number;
		/** Present (true) when the Compose file names the variable itself. */
		variableSet?: true;
		/** `owner/name`: its GitHub releases join the rollback candidates. */
		github?: string;
	};
	health: HealthTarget[];
	database: DatabaseSettings | null;
	disk: {thresholdPercent: number; retainReleases: number};
	/** How `status` tells a crash loop: a restart within this window counts (default 5 minutes). */
	status: {crashWindowMs: number};
	/** Step 6: the health retries, the error-rate window and factor. */
	verify: VerifySettings;
	/** Step 6's smoke checks and flows. */
	smoke: SmokeEntry[];
	/** Extra redaction patterns for evidence; present only when the Compose file sets them. */
	redact?: {patterns: string[]};
	/** Where incidents are announced (webhook, GitHub); present only when the Compose file sets it. */
	notify?: NotifySettings;
}

/**
 * `x-rollback-console.database`: what cannot be detected, or should not be guessed. The
 * optional keys are present only when the Compose file sets them (the Database step fills
 * in the rest by detection; retain_days defaults to 7 there).
 */
export interface DatabaseSettings {
	/** Null: detect the database service. */
	service: string | null;
	/** postgres, mysql, mariadb, sqlite, or none (no database: the step has nothing to do); 'auto' when not set. */
	engine: string;
	migrationsTable: string | null;
	database?: string;
	user?: string;
	/** Where the release image ships its migrations. */
	migrationsPath?: string;
	/** The command that runs exactly one migrate-down step, run in a release service's container. */
	downCommand?: string[];
	retainDays?: number;
	/** Where backups go (default <state>/<project>/backups). */
	backupDir?: string;
	/** SQLite: the database file's path inside the release service's container. */
	file?: string;
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
	onlyKeys(root, '', ['release', 'health', 'database', 'disk', 'redact', 'status', 'verify', 'smoke', 'notify']);

	const release = object(root['release'], 'release');
	onlyKeys(release, 'release', ['variable', 'services', 'persist', 'github', 'pull_timeout']);
	const pullTimeoutMs = duration(release['pull_timeout'], 'release.pull_timeout', 10 * 60_000, 1000, 24 * 3_600_000);
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
	if (root['database'] !== undefined && root['database'] !== null) database = parseDatabase(root['database']);

	const disk = object(root['disk'], 'disk');
	onlyKeys(disk, 'disk', ['threshold_percent', 'retain_releases']);
	const redact = parseRedact(root['redact']);
	const notify = parseNotify(root['notify']);
	const status = object(root['status'], 'status');
	onlyKeys(status, 'status', ['crash_window']);
	return {
		release: {variable, services, persist, pullTimeoutMs, ...(release['variable'] !== undefined ? {variableSet: true as const} : {}), ...(github ? {github} : {})},
		health,
		database,
		disk: {
			thresholdPercent: integer(disk['threshold_percent'], 'disk.threshold_percent', 80, 1, 100),
			retainReleases: integer(disk['retain_releases'], 'disk.retain_releases', 5, 1, 100),
		},
		status: {crashWindowMs: duration(status['crash_window'], 'status.crash_window', 5 * 60_000, 1000, 24 * 3_600_000)},
		verify: parseVerify(root['verify']),
		smoke: parseSmoke(root['smoke']),
		...(redact ? {redact} : {}),
		...(notify ? {notify} : {}),
	};
}

const databaseEngines = ['auto', 'postgres', 'mysql', 'mariadb', 'sqlite', 'none'];

function parseDatabase(value: unknown): DatabaseSettings {
	const db = object(value, 'database');
	onlyKeys(db, 'database', ['service', 'engine', 'database', 'user', 'migrations_table', 'migrations_path', 'down_command', 'retain_days', 'backup_dir', 'file']);
	const engine = string(db['engine'], 'database.engine', 'auto');
	if (!databaseEngines.includes(engine)) throw fail('database.engine', `expected one of ${databaseEngines.join(', ')}, got "${engine}"`);
	const settings: DatabaseSettings = {
		service: db['service'] === undefined ? null : string(db['service'], 'database.service', ''),
		engine,
		migrationsTable: db['migrations_table'] === undefined ? null : string(db['migrations_table'], 'database.migrations_table', ''),
	};
	if (settings.migrationsTable !== null && !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(settings.migrationsTable)) {
		throw fail('database.migrations_table', `"${settings.migrationsTable}" is not a table name`);
	}
	for (const [key, field] of [['database', 'database'], ['user', 'user'], ['migrations_path', 'migrationsPath'], ['backup_dir', 'backupDir'], ['file', 'file']] as const) {
		if (db[key] !== undefined) settings[field] = string(db[key], `database.${key}`, '');
	}
	if (settings.migrationsPath !== undefined && !settings.migrationsPath.startsWith('/')) throw fail('database.migrations_path', 'expected an absolute path inside the image');
	if (db['down_command'] !== undefined) {
		const list = db['down_command'];
		if (!Array.isArray(list) || list.length === 0 || list.some(s => typeof s !== 'string' || s === '')) {
			throw fail('database.down_command', 'expected a command as a list of words, like [dbmate, rollback]');
		}
		settings.downCommand = list as string[];
	}
	if (db['retain_days'] !== undefined) settings.retainDays = integer(db['retain_days'], 'database.retain_days', 7, 1, 3650);
	return settings;
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
