import type {DatabaseEngine} from '../../engine/database-types.js';
import type {ComposeProject} from '../../engine/types.js';
import {ConsoleError} from '../../errors.js';
import {lockState, type LockState} from '../project-lock.js';
import type {DatabaseSettings} from '../settings.js';
import {gather as gatherRelease, type StabiliseOutside} from '../stabilise/prepare.js';
import {tagFor} from '../stabilise/release-services.js';
import {buildCandidates, compareCandidates, lastKnownGood, semverOf, type ReleaseRecord} from '../stabilise/releases.js';
import {backupDir, listBackups, type BackupEntry} from './backups.js';
import {findBoundary, recordedHead, replacedAt, type Boundary} from './boundary.js';
import {DatabaseClient, SqliteUnreadable, type MigrationsFound} from './client.js';
import {detectDatabase, type FoundDatabase} from './detect.js';
import {migrationDirs, shippedMigrations, type ShippedMigration} from './shipped-migrations.js';

/** What the Database step reads from the box. Gathering changes nothing. */

export interface DatabaseOutside extends StabiliseOutside {
	database: Promise<DatabaseEngine> | DatabaseEngine;
}

export interface ReleaseImage {
	tag: string;
	ref: string;
	/** Why this is the target: --to, the last known good, or the release before the current one. */
	how: 'to' | 'last-known-good' | 'previous';
}

export interface ShippedIn {
	ref: string;
	/** The directory found in the image; null when none of those looked in is there. */
	dir: string | null;
	looked: string[];
	migrations: ShippedMigration[] | null;
}

export interface DatabaseFacts {
	project: string;
	projectDir: string;
	workingDir: string;
	settings: DatabaseSettings | null;
	found: FoundDatabase | null;
	migrations: MigrationsFound | null;
	currentTag: string | null;
	/** The running release services' containers (stopped by a restore, the down step's host). */
	releaseContainers: Array<{id: string; name: string; service: string; running: boolean; image: string}>;
	target: ReleaseImage | null;
	targetShipped: ShippedIn | null;
	currentShipped: ShippedIn | null;
	boundary: Boundary | null;
	backups: Array<BackupEntry & {present: boolean}>;
	backupDir: string;
	retainDays: number;
	downCommand: {argv: string[]; containerId: string; containerName: string; source: 'configured' | 'detected'} | null;
	lock: LockState;
	records: ReleaseRecord[];
	notes: string[];
	/** For the actions: the client that talks to the database (not part of --json). */
	client: DatabaseClient | null;
}

/** The rollback target: --to, else the last known good, else the newest release older than the current one. */
export function chooseTarget(
	to: string | null,
	records: readonly ReleaseRecord[],
	localTags: readonly string[],
	currentTag: string | null,
): {tag: string; how: ReleaseImage['how']} | null {
	if (to) return {tag: to, how: 'to'};
	const good = lastKnownGood(buildCandidates({records, registryTags: null, local: [], currentTag}));
	if (good && good.tag !== currentTag) return {tag: good.tag, how: 'last-known-good'};
	const current = currentTag ? {tag: currentTag, semver: semverOf(currentTag), date: null} : null;
	const older = [...new Set([...localTags, ...records.map(r => r.tag)])]
		.filter(t => t !== currentTag)
		.map(tag => ({tag, semver: semverOf(tag), date: null}))
		.filter(c => !current || compareCandidates(c, current) > 0)
		.sort(compareCandidates);
	return older[0] ? {tag: older[0].tag, how: 'previous'} : null;
}

async function readShipped(engine: DatabaseEngine, ref: string, configured: string | undefined, pull: boolean): Promise<ShippedIn> {
	let facts = await engine.imageFacts(ref);
	if (!facts && pull) {
		if (await engine.pullImage(ref)) facts = await engine.imageFacts(ref);
		if (!facts) {
			throw new ConsoleError(`the target image ${ref} is gone from this box and from its registry: its migrations cannot be read (pass --to another release; rollback-console history lists them)`);
		}
	}
	if (!facts) return {ref, dir: null, looked: [], migrations: null};
	const looked = migrationDirs(configured, facts.workingDir);
	for (const dir of looked) {
		const files = await engine.readImageDirectory(ref, dir);
		if (files) return {ref, dir, looked, migrations: shippedMigrations(files)};
	}
	return {ref, dir: null, looked, migrations: null};
}

export interface GatherDatabaseOptions {
	to?: string | null;
	env?: NodeJS.ProcessEnv;
	/** Only the database, the lock and the backups (`db backup`): no migrations, images or boundary read. */
	foundOnly?: boolean;
}

export async function gatherDatabase(
	outside: DatabaseOutside,
	project: ComposeProject,
	stateDir: string,
	options: GatherDatabaseOptions = {},
): Promise<DatabaseFacts> {
	const release = await gatherRelease(outside, project, stateDir, {env: options.env ?? process.env, prefetch: null});
	const engine = await outside.database;
	const name = release.loaded.name;
	const settings = release.loaded.settings.database;
	const containers = await engine.databaseContainers(name);
	const notes: string[] = [];
	const releaseContainers = containers
		.filter(c => release.release.services.includes(c.service))
		.map(c => ({id: c.id, name: c.name, service: c.service, running: c.running, image: c.image}));
	const dir = backupDir(release.projectDir, settings?.backupDir, project.workingDir);
	const base = {
		project: name,
		projectDir: release.projectDir,
		workingDir: project.workingDir,
		settings,
		currentTag: release.currentTag,
		releaseContainers,
		backupDir: dir,
		retainDays: settings?.retainDays ?? 7,
		records: release.records,
		notes,
	};
	const backups = await listBackups(dir);
	const sqliteFile = backups.findLast(b => b.engine === 'sqlite' && b.project === name)?.database ?? null;
	const [found, lock] = await Promise.all([
		detectDatabase({config: release.loaded.config, settings, containers, releaseServices: release.release.services, sqliteFile}, engine),
		lockState(release.projectDir),
	]);
	const empty = {found, migrations: null, target: null, targetShipped: null, currentShipped: null, boundary: null, backups, downCommand: null, lock, client: null};
	if (!found) {
		notes.push('no database found: no service looks like PostgreSQL or MySQL/MariaDB (image, environment, healthcheck, binaries) and no SQLite file is mounted in a release service (configure x-rollback-console.database)');
		return {...base, ...empty};
	}
	const client = new DatabaseClient(found, engine);
	if (options.foundOnly) {
		// The backup's action depends on how a SQLite file is reached (sqlite3 in its container, or a copy).
		if (found.kind === 'sqlite') await client.sqliteVia();
		return {...base, ...empty, client};
	}
	const migrations = await client.migrations(settings?.migrationsTable ?? null).catch(error => {
		// SQLite with no way to read it here: the step still backs it up (a raw copy) and restores it.
		if (!(error instanceof SqliteUnreadable)) throw error;
		notes.push(`${error.message}; backups are raw copies of the file`);
		return null;
	});
	if (!migrations) return {...base, ...empty, client};

	const primary = release.release.templates[release.release.services[0]!]!;
	const refOf = (tag: string) => `${primary.repository}:${tagFor(primary, tag)}`;
	const chosen = chooseTarget(options.to ?? null, release.records, release.local.flatMap(i => i.tags), release.currentTag);
	const target = chosen ? {...chosen, ref: refOf(chosen.tag)} : null;
	const currentContainer = releaseContainers.find(c => c.running && c.service === primary.service) ?? releaseContainers.find(c => c.running) ?? null;
	const currentRef = currentContainer?.image ?? (release.currentTag ? refOf(release.currentTag) : null);

	const currentShipped = currentRef ? await readShipped(engine, currentRef, settings?.migrationsPath, false) : null;
	let targetShipped: ShippedIn | null = null;
	if (target) {
		const recorded = recordedHead(release.records, target.tag);
		const usable = recorded?.migrationHead && migrations.applied.some(m => m.version === recorded.migrationHead);
		if (!usable) targetShipped = await readShipped(engine, target.ref, settings?.migrationsPath, true);
	} else notes.push('no rollback target: nothing older than the current release is on this box or recorded (pass --to TAG)');

	const earliestCurrent = releaseContainers.map(c => containers.find(x => x.id === c.id)!.createdAt).sort()[0] ?? null;
	const boundary = target
		? findBoundary({
				applied: migrations.applied,
				targetTag: target.tag,
				records: release.records,
				targetShipped: targetShipped?.migrations ?? null,
				currentShipped: currentShipped?.migrations ?? null,
				targetReplacedAt: replacedAt(release.records, target.tag) ?? earliestCurrent,
			})
		: null;

	let downCommand: DatabaseFacts['downCommand'] = null;
	if (currentContainer) {
		if (settings?.downCommand) downCommand = {argv: settings.downCommand, containerId: currentContainer.id, containerName: currentContainer.name, source: 'configured'};
		else if (migrations.table.endsWith('schema_migrations')) {
			const probe = await engine.exec(currentContainer.id, ['sh', '-c', 'command -v dbmate']).catch(() => null);
			if (probe?.exitCode === 0 && probe.stdout.trim()) {
				downCommand = {argv: ['dbmate', 'rollback'], containerId: currentContainer.id, containerName: currentContainer.name, source: 'detected'};
			}
		}
	}
	if (!downCommand) notes.push('no migrate-down command: set x-rollback-console.database.down_command (run in the current release\'s container)');
	await client.releaseCopy();
	return {...base, ...empty, migrations, target, targetShipped, currentShipped, boundary, downCommand, client};
}

/** The facts as --json shows them (no client object). */
export function factsJson(facts: DatabaseFacts): Record<string, unknown> {
	const {client: _client, records: _records, ...rest} = facts;
	return rest as unknown as Record<string, unknown>;
}
