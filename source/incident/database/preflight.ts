import {statfs} from 'node:fs/promises';
import type {DatabaseEngine} from '../../engine/database-types.js';
import type {HealthProbe} from '../../engine/health-probe-types.js';
import type {ComposeConfig, ComposeProject} from '../../engine/types.js';
import {ConsoleError} from '../../errors.js';
import type {Settings} from '../settings.js';
import {backupDir, takeBackup, type BackupEntry} from './backups.js';
import {DatabaseClient, SqliteUnreadable} from './client.js';
import {detectDatabase, type FoundDatabase} from './detect.js';
import {migrationDirs, shippedMigrations, type ShippedMigration} from './shipped-migrations.js';
import type {FlaggedStatement} from './sql-heuristic.js';

/**
 * Deploy's preflight (the runbooks' Release Preflight Checklist): before `deploy` changes
 * anything, what runs now (tag, digests, git commit), the migrations the new release will
 * apply with destructive statements flagged, free disk against the pull and the dump, the
 * health baseline — and then the backup. Recorded as one `preflight` event.
 */

export interface PreflightFacts {
	running: {tag: string | null; digests: Record<string, string | null>; imageIds: Record<string, string | null>; revision: string | null};
	target: {tag: string; ref: string; revision: string | null};
	database: {kind: string; service: string; database: string; head: string | null} | null;
	/** Migrations the new release ships and the database has not applied. */
	newMigrations: Array<{file: string; flagged: FlaggedStatement[]; readable: boolean}>;
	destructive: Array<{file: string} & FlaggedStatement>;
	migrationsDir: string | null;
	disk: {backupDir: string; free: number; dumpEstimate: number | null; imagesToPull: number | null; enough: boolean};
	health: HealthProbe[];
	notes: string[];
}

export interface PreflightInput {
	engine: DatabaseEngine;
	project: ComposeProject;
	projectName: string;
	projectDir: string;
	config: ComposeConfig;
	settings: Settings;
	releaseServices: string[];
	running: Omit<PreflightFacts['running'], 'revision'>;
	currentRef: string | null;
	target: {tag: string; ref: string};
	imagesToPull: number | null;
	probe: () => Promise<HealthProbe[]>;
}

const revisionLabel = 'org.opencontainers.image.revision';

export async function checkPreflight(input: PreflightInput): Promise<{facts: PreflightFacts; client: DatabaseClient | null}> {
	const {engine} = input;
	const notes: string[] = [];
	const settings = input.settings.database;
	const containers = await engine.databaseContainers(input.projectName);
	const found: FoundDatabase | null = await detectDatabase({config: input.config, settings, containers, releaseServices: input.releaseServices}, engine);
	// A first deploy (or a database not up yet): nothing to back up, every shipped migration is new.
	const up = found?.container?.running === true;
	if (found && !up) notes.push(`the database service ${found.service} is not running: no backup, migrations not compared with it`);
	const client = found && up ? new DatabaseClient(found, engine) : null;
	const migrations = client
		? await client.migrations(settings?.migrationsTable ?? null).catch(error => {
				// SQLite that cannot be read here: still backed up (a raw copy); as for a database not up, every shipped migration counts as new.
				if (!(error instanceof SqliteUnreadable)) throw error;
				notes.push(`${error.message}: migrations not compared with it`);
				return null;
			})
		: null;

	// The new release's migrations, from its image (pulled now when not on the box yet).
	let facts = await engine.imageFacts(input.target.ref);
	if (!facts && (await engine.pullImage(input.target.ref))) facts = await engine.imageFacts(input.target.ref);
	if (!facts) throw new ConsoleError(`deploy refused: ${input.target.ref} is neither on this box nor in its registry; nothing was changed`);
	let shipped: ShippedMigration[] | null = null;
	let migrationsDir: string | null = null;
	if (found) {
		for (const dir of migrationDirs(settings?.migrationsPath, facts.workingDir)) {
			const files = await engine.readImageDirectory(input.target.ref, dir);
			if (files) {
				shipped = shippedMigrations(files);
				migrationsDir = dir;
				break;
			}
		}
		if (!shipped) notes.push(`no migrations directory found in ${input.target.ref} (looked in ${migrationDirs(settings?.migrationsPath, facts.workingDir).join(', ')})`);
	}
	const applied = new Set(migrations?.applied.map(m => m.version) ?? []);
	const fresh = (shipped ?? []).filter(s => !s.keys.some(k => applied.has(k)));
	const newMigrations = fresh.map(s => ({file: s.file, flagged: s.flagged, readable: s.sql !== null}));
	const destructive = fresh.flatMap(s => s.flagged.map(f => ({file: s.file, ...f})));

	const current = input.currentRef ? await engine.imageFacts(input.currentRef).catch(() => null) : null;
	const dir = backupDir(input.projectDir, settings?.backupDir, input.project.workingDir);
	const {mkdir} = await import('node:fs/promises');
	await mkdir(dir, {recursive: true, mode: 0o700});
	const fs = await statfs(dir);
	const free = fs.bavail * fs.bsize;
	const dumpEstimate = client ? await client.size().catch(() => null) : null;
	const need = (dumpEstimate ?? 0) / 2 + (input.imagesToPull ?? 0);
	const health = await input.probe().catch(() => []);
	return {
		client,
		facts: {
			running: {...input.running, revision: current?.labels[revisionLabel] ?? null},
			target: {...input.target, revision: facts.labels[revisionLabel] ?? null},
			database: found ? {kind: found.kind, service: found.service, database: found.database || found.file || '', head: migrations?.head ?? null} : null,
			newMigrations,
			destructive,
			migrationsDir,
			disk: {backupDir: dir, free, dumpEstimate, imagesToPull: input.imagesToPull, enough: free >= need},
			health,
			notes,
		},
	};
}

/** The lines `deploy` prints before asking. */
export function preflightText(f: PreflightFacts): string {
	const lines = ['', 'Preflight:'];
	lines.push(`  running ${f.running.tag ?? '-'}${f.running.revision ? ` (commit ${f.running.revision.slice(0, 12)})` : ''} · deploying ${f.target.tag}${f.target.revision ? ` (commit ${f.target.revision.slice(0, 12)})` : ''}`);
	if (f.database) lines.push(`  database ${f.database.kind} in ${f.database.service}, head ${f.database.head ?? 'none'}`);
	if (f.newMigrations.length === 0) lines.push(`  migrations: ${f.database ? 'none new in the release' : 'no database found'}`);
	for (const m of f.newMigrations) lines.push(`  new migration ${m.file}: ${!m.readable ? 'not SQL (not checked)' : m.flagged.length ? 'DESTRUCTIVE (heuristic)' : 'additive (heuristic)'}`);
	for (const d of f.destructive) lines.push(`    ${d.file} line ${d.line}: ${d.rule} — ${d.statement}`);
	lines.push(`  disk: ${(f.disk.free / 1e9).toFixed(1)} GB free for the backup${f.disk.dumpEstimate !== null ? ` (database ${(f.disk.dumpEstimate / 1e6).toFixed(1)} MB)` : ''}${f.disk.enough ? '' : ' — NOT ENOUGH'}`);
	for (const h of f.health) lines.push(`  health baseline ${h.url}: ${h.status ?? h.error ?? '-'} in ${h.latencyMs} ms`);
	for (const n of f.notes) lines.push(`  note: ${n}`);
	return `${lines.join('\n')}\n`;
}

/** The backup before the deploy; the entry recorded in the preflight event. */
export function backupBeforeDeploy(client: DatabaseClient, facts: PreflightFacts, project: string): Promise<BackupEntry> {
	return takeBackup({client, dir: facts.disk.backupDir, project, release: facts.running.tag, reason: `before deploy of ${facts.target.tag}`});
}
