import type {DatabaseContainer, DatabaseEngine} from '../../engine/database-types.js';
import type {ComposeConfig} from '../../engine/types.js';
import {ConsoleError} from '../../errors.js';
import type {DatabaseSettings} from '../settings.js';

/**
 * Finding the database with no configuration where possible: the configured service, else
 * a service whose image name, environment, healthcheck or binaries say PostgreSQL or
 * MySQL/MariaDB, else a SQLite file in a volume of a release service.
 */

export type DatabaseKind = 'postgres' | 'mysql' | 'sqlite';

export interface FoundDatabase {
	kind: DatabaseKind;
	service: string;
	/** The container we exec in (the database's own; for SQLite, the release service's). */
	container: DatabaseContainer | null;
	database: string;
	user: string;
	/** SQLite: the file's path inside the container. */
	file: string | null;
	/** Why we think this is the database, for the operator. */
	how: string;
}

const imagePatterns: Array<[RegExp, DatabaseKind]> = [
	[/(^|[/:-])(postgres|postgresql|postgis|timescaledb)([:@/-]|$)/i, 'postgres'],
	[/(^|[/:-])(mysql|mariadb|percona)([:@/-]|$)/i, 'mysql'],
];

function byImage(image: string | null): DatabaseKind | null {
	if (!image) return null;
	return imagePatterns.find(([p]) => p.test(image))?.[1] ?? null;
}

function byEnvironment(keys: string[]): DatabaseKind | null {
	if (keys.some(k => /^POSTGRES_/.test(k))) return 'postgres';
	if (keys.some(k => /^(MYSQL|MARIADB)_/.test(k))) return 'mysql';
	return null;
}

function byHealthcheck(test: string[]): DatabaseKind | null {
	const text = test.join(' ');
	if (/\bpg_isready\b/.test(text)) return 'postgres';
	if (/\b(mysqladmin|mariadb-admin)\b.*\bping\b|\bhealthcheck\.sh\b.*--connect/.test(text)) return 'mysql';
	return null;
}

const kindOf = (engine: string): DatabaseKind | null =>
	engine === 'postgres' ? 'postgres' : engine === 'mysql' || engine === 'mariadb' ? 'mysql' : engine === 'sqlite' ? 'sqlite' : null;

function credentials(kind: DatabaseKind, env: Record<string, string>, settings: DatabaseSettings | null): {database: string; user: string} {
	if (kind === 'postgres') {
		const user = settings?.user ?? env['POSTGRES_USER'] ?? 'postgres';
		return {user, database: settings?.database ?? env['POSTGRES_DB'] ?? user};
	}
	if (kind === 'mysql') {
		const user = settings?.user ?? env['MYSQL_USER'] ?? env['MARIADB_USER'] ?? 'root';
		return {user, database: settings?.database ?? env['MYSQL_DATABASE'] ?? env['MARIADB_DATABASE'] ?? ''};
	}
	return {user: '', database: settings?.database ?? ''};
}

export interface DetectInput {
	config: ComposeConfig;
	settings: DatabaseSettings | null;
	containers: readonly DatabaseContainer[];
	releaseServices: readonly string[];
	/** SQLite: the file the newest backup of this project recorded, looked for when the app is stopped (a restore leaves it so). */
	sqliteFile?: string | null;
}

const running = (containers: readonly DatabaseContainer[], service: string) =>
	containers.filter(c => c.service === service).sort((a, b) => Number(b.running) - Number(a.running))[0] ?? null;

/**
 * The database, or null when there is none (or `engine: none`). Throws a ConsoleError for a
 * configured service that does not exist.
 */
export async function detectDatabase(input: DetectInput, engine: Pick<DatabaseEngine, 'exec' | 'statPath'>): Promise<FoundDatabase | null> {
	const {config, settings, containers} = input;
	if (settings?.engine === 'none') return null;
	const services = Object.keys(config.services);
	if (settings?.service && !services.includes(settings.service)) {
		throw new ConsoleError(`x-rollback-console.database.service: no service named ${settings.service} in the Compose file`);
	}
	const configuredKind = settings ? kindOf(settings.engine) : null;

	const found = (kind: DatabaseKind, service: string, how: string): FoundDatabase => {
		const container = running(containers, service);
		const env = {...Object.fromEntries(Object.entries(config.services[service]?.environment ?? {}).map(([k, v]) => [k, v ?? ''])), ...container?.env};
		return {kind, service, container, ...credentials(kind, env, settings), file: kind === 'sqlite' ? (settings?.file ?? null) : null, how};
	};

	// 1. Configured (service and engine; or a service whose engine we detect).
	const candidates = settings?.service ? [settings.service] : services.filter(s => !input.releaseServices.includes(s));
	for (const service of candidates) {
		const s = config.services[service]!;
		const container = running(containers, service);
		if (settings?.service && configuredKind && configuredKind !== 'sqlite') return found(configuredKind, service, 'x-rollback-console.database');
		const image = byImage(container?.image ?? s.image);
		if (image) return found(image, service, `its image (${container?.image ?? s.image})`);
		const env = byEnvironment([...Object.keys(s.environment), ...Object.keys(container?.env ?? {})]);
		if (env) return found(env, service, 'its environment (POSTGRES_*/MYSQL_*/MARIADB_*)');
		const health = byHealthcheck(container?.healthcheck ?? []);
		if (health) return found(health, service, `its healthcheck (${(container?.healthcheck ?? []).slice(1).join(' ')})`);
	}
	// 2. The binaries in a running non-release container: the image may be named anything.
	for (const service of candidates) {
		const container = running(containers, service);
		if (!container?.running) continue;
		// One name per `command -v`: dash (Debian's sh) looks up only the first of several.
		const probe = await engine.exec(container.id, ['sh', '-c', 'for b in postgres pg_ctl mysqld mariadbd; do command -v "$b"; done 2>/dev/null; true']).catch(() => null);
		const out = probe?.stdout ?? '';
		if (/postgres|pg_ctl/.test(out)) return found('postgres', service, 'the postgres binary in its container');
		if (/mysqld|mariadbd/.test(out)) return found('mysql', service, 'the mysqld binary in its container');
	}
	// 3. SQLite: a .db file in a volume or bind mount of a release service (configured, or found).
	const sqliteServices = settings?.service ? [settings.service] : input.releaseServices;
	for (const service of sqliteServices) {
		const container = running(containers, service);
		if (!container) continue;
		if (settings?.file) return found('sqlite', service, 'x-rollback-console.database.file');
		if (!container.running) {
			// Nothing runs in it to look with: the file the last backup recorded, if this container mounts it and it is there.
			const known = input.sqliteFile;
			const mounted = known && container.mounts.some(m => m.destination !== '/' && known.startsWith(`${m.destination.replace(/\/$/, '')}/`));
			if (mounted && (await engine.statPath(container.id, known).catch(() => null))) {
				return {...found('sqlite', service, `the SQLite file the last backup recorded, in a mount of ${service} (stopped)`), file: known};
			}
			continue;
		}
		const dirs = container.mounts.map(m => m.destination).filter(d => d !== '/');
		if (dirs.length === 0) continue;
		const probe = await engine
			.exec(container.id, ['find', ...dirs, '-maxdepth', '3', '-type', 'f', '(', '-name', '*.db', '-o', '-name', '*.sqlite', '-o', '-name', '*.sqlite3', ')'])
			.catch(() => null);
		const file = probe?.stdout.split('\n').map(l => l.trim()).filter(Boolean).sort()[0];
		if (file) return {...found('sqlite', service, `a SQLite file in a mount of ${service}`), file};
	}
	if (settings?.service || configuredKind) {
		throw new ConsoleError(
			`x-rollback-console.database: no ${settings?.engine ?? 'database'} found${settings?.service ? ` in service ${settings.service}` : ''} (set database.engine, and database.file for SQLite)`,
		);
	}
	return null;
}
