import {mkdir} from 'node:fs/promises';
import {dirname} from 'node:path';
import {ComposeCli} from '../engine/compose-cli.js';
import {DockerDatabaseEngine} from '../engine/database-engine.js';
import type {ComposeProject} from '../engine/types.js';
import {gatherDatabase, type DatabaseFacts, type DatabaseOutside} from '../incident/database/gather.js';
import {planDatabase, type DatabaseAction} from '../incident/database/plan.js';
import {runDatabaseAction, type RunDatabaseOptions} from '../incident/database/run.js';
import {currentOperator} from '../incident/operator.js';
import {acquireLock, holderFor, lockState, releaseLock} from '../incident/project-lock.js';
import {runAction, type Outcome, type Recorder} from '../incident/step-kit.js';
import type {DatabaseModel} from '../ui/console-model.js';
import {connectStabilise} from './connect-stabilise.js';
import {ConsoleError} from '../errors.js';
import {backupBeforeDeploy, checkPreflight, preflightText, type PreflightFacts} from '../incident/database/preflight.js';
import {projectFiles} from '../incident/layout.js';
import type {RollbackPlan} from '../incident/stabilise/plan.js';
import {appendRelease, releasesFile} from '../incident/stabilise/releases.js';
import {errorRatesNow} from '../incident/verify/error-lines.js';
import {DockerEngine} from '../engine/docker-engine.js';
import type {Gathered} from '../incident/stabilise/prepare.js';
import {Timeline} from '../incident/timeline.js';
import {parseSettings} from '../incident/settings.js';
import {detectDatabase} from '../incident/database/detect.js';
import {DatabaseClient} from '../incident/database/client.js';

/** The real engine, compose, registry and the database exec client, for `db` and the console's step 4. */
export function connectDatabase(env: NodeJS.ProcessEnv = process.env): DatabaseOutside {
	const compose = new ComposeCli(env);
	return {...connectStabilise(env, compose), database: DockerDatabaseEngine.connect(env)};
}

/**
 * Runs one confirmed action under the project's lock, recorded as the step kit records it
 * (action_start, action_result): the console and `db backup/restore/down` both come here.
 */
export async function runLocked(
	facts: DatabaseFacts,
	action: DatabaseAction,
	record: Recorder,
	options: RunDatabaseOptions & {signal?: AbortSignal; what: string},
): Promise<Outcome & {ms: number}> {
	// The console holds the project already: then it is ours, and stays ours after the action.
	const before = await lockState(facts.projectDir);
	const held = before.state === 'mine' ? null : await acquireLock(facts.projectDir, holderFor(currentOperator(), options.what));
	try {
		return await runAction(record, 'database', action, (a, signal) => runDatabaseAction(facts, a, signal, options), options.signal);
	} finally {
		if (held) await releaseLock(facts.projectDir, held.holder).catch(() => {});
	}
}

/** The console's Database step: gather (changes nothing), plan, and run one confirmed action. */
export function createDatabaseModel({project, stateDir, readOnly}: {project: ComposeProject; stateDir: string; readOnly: boolean}): DatabaseModel {
	let outside: DatabaseOutside | null = null;
	let facts: DatabaseFacts | null = null;
	return {
		async gather() {
			outside ??= connectDatabase();
			facts = await gatherDatabase(outside, project, stateDir);
			return {facts, plan: planDatabase(facts)};
		},
		async run(action, record, options = {}) {
			if (readOnly) throw new Error('read-only: the Database step changes nothing');
			if (!facts) throw new Error('gather first');
			return runLocked(facts, action, record, {...options, what: `db ${action.kind} (console)`});
		},
	};
}

/**
 * Deploy's preflight, between the plan and the confirmation: checks (and pulls) the new
 * release's migrations, refuses a destructive one unless it is acknowledged by name
 * (--accept-destructive, or the migration's name typed), then — once the deploy is
 * confirmed — `commit` takes the backup (unless --no-backup, recorded) and appends the one
 * `preflight` event to the deploy's timeline. Null when the project has no database.
 */
export async function deployPreflight(
	gathered: Gathered,
	plan: RollbackPlan,
	options: {acceptDestructive: boolean; backup: boolean; json: boolean; ask: ((prompt: string, expected: string) => Promise<boolean>) | null},
): Promise<{facts: PreflightFacts; commit: () => Promise<void>}> {
	const engine = await DockerDatabaseEngine.connect();
	const primary = plan.services[0]!;
	const target = {tag: plan.to.tag, ref: primary.to.reference};
	const local = await engine.imageFacts(target.ref);
	const images = local ? null : (await gathered.engine.image(target.ref).catch(() => null))?.size ?? null;
	const {facts, client} = await checkPreflight({
		engine,
		project: gathered.project,
		projectName: gathered.loaded.name,
		projectDir: gathered.projectDir,
		config: gathered.loaded.config,
		settings: gathered.loaded.settings,
		releaseServices: gathered.release.services,
		running: {
			tag: plan.from.tag,
			digests: Object.fromEntries(plan.services.map(s => [s.service, s.from.digest])),
			imageIds: Object.fromEntries(plan.services.map(s => [s.service, s.from.imageId])),
		},
		currentRef: plan.services.find(s => s.from.imageId)?.from.imageId ?? null,
		target,
		imagesToPull: images,
		probe: async () => {
			const {probeHealth} = await import('../engine/http-probe.js');
			return probeHealth(gathered.loaded.settings.health);
		},
	});
	if (!options.json) process.stdout.write(preflightText(facts));
	if (!facts.disk.enough) throw new ConsoleError(`deploy refused: not enough disk in ${facts.disk.backupDir} for the backup and the new images; nothing was changed`);
	if (facts.destructive.length > 0 && !options.acceptDestructive) {
		const first = facts.destructive[0]!;
		const name = first.file;
		const acknowledged = options.ask ? await options.ask(`${target.tag} applies a DESTRUCTIVE migration (${name} line ${first.line}: ${first.rule})`, name) : false;
		if (!acknowledged) {
			throw new ConsoleError(
				`deploy refused: ${target.tag} applies a destructive migration (${name} line ${first.line}: ${first.rule}, heuristic); acknowledge it with --accept-destructive (--yes alone is not enough); nothing was changed`,
			);
		}
	}
	return {
		facts,
		async commit() {
			let backup: Record<string, unknown> | null = null;
			if (client && options.backup) {
				const entry = await backupBeforeDeploy(client, facts, gathered.loaded.name);
				backup = {path: entry.path, sha256: entry.sha256, bytes: entry.bytes, migrationHead: entry.migrationHead};
				if (!options.json) process.stdout.write(`Backup before the deploy: ${entry.path} (sha256 ${entry.sha256})\n`);
			} else if (client) backup = {skipped: '--no-backup'};
			// The release running now, healthy before the deploy: the last known good should this deploy go bad.
			const healthy = facts.health.length > 0 ? facts.health.every(h => h.ok) : Object.values(gathered.current).every(c => c.ok);
			if (healthy && facts.running.tag) {
				// Its error rate over the window before this deploy: the baseline a later verify compares with.
				const windowMs = gathered.loaded.settings.verify.windowMs;
				const running = gathered.services
					.filter(s => gathered.release.services.includes(s.service))
					.flatMap(s => s.containers.filter(c => c.state === 'running').map(c => ({id: c.id, service: s.service})));
				const logs = await DockerEngine.connect();
				const perMinute = await errorRatesNow(running, (id, since, signal) => logs.containerLogSince(id, since, signal), {
					patterns: gathered.loaded.settings.verify.errorPatterns,
					windowMs,
				}).catch(() => null);
				await appendRelease(releasesFile(gathered.projectDir), {
					time: new Date().toISOString(),
					event: 'preflight',
					tag: facts.running.tag,
					digests: facts.running.digests,
					imageIds: facts.running.imageIds,
					images: Object.fromEntries(plan.services.map(s => [s.service, {repository: s.repository, tag: s.from.tag}])),
					migrationHead: facts.database?.head ?? null,
					operator: (({user, sshConnection}) => ({user, ssh: sshConnection, pid: process.pid}))(currentOperator()),
					errorBaseline: perMinute ? {perMinute, windowMs} : null,
				});
			}
			const file = projectFiles(gathered.projectDir).deploysTimeline;
			await mkdir(dirname(file), {recursive: true, mode: 0o700});
			const timeline = await Timeline.open(file, {operator: {...currentOperator(), pid: process.pid}});
			await timeline.append(null, 'preflight', {
				release: facts.running,
				target: facts.target,
				backup,
				database: facts.database,
				migrations: facts.newMigrations,
				destructive: facts.destructive,
				acknowledged: facts.destructive.length > 0 ? (options.acceptDestructive ? '--accept-destructive' : 'typed') : null,
				disk: facts.disk,
				health: facts.health.map(h => ({url: h.url, ok: h.ok, status: h.status, latencyMs: h.latencyMs, error: h.error})),
				notes: facts.notes,
			});
			await timeline.settled();
		},
	};
}

/** The database's migration head now, for releases.jsonl; null when there is no database or it cannot be read. */
export async function migrationHeadOf(project: ComposeProject, releaseServices: string[]): Promise<string | null> {
	try {
		const config = await new ComposeCli().config(project);
		const settings = parseSettings(config.extension);
		const engine = await DockerDatabaseEngine.connect();
		const containers = await engine.databaseContainers(config.name);
		const found = await detectDatabase({config, settings: settings.database, containers, releaseServices}, engine);
		if (!found) return null;
		return (await new DatabaseClient(found, engine).migrations(settings.database?.migrationsTable ?? null)).head;
	} catch {
		return null;
	}
}
