import {basename} from 'node:path';
import {createInterface} from 'node:readline/promises';
import {locateProject} from '../engine/compose-project.js';
import {ConsoleError, exitCodes} from '../errors.js';
import {gatherDatabase, factsJson, type DatabaseFacts} from '../incident/database/gather.js';
import {downAction, findBackup, planDatabase, restoreAction, backupAction, defaultBackup, type DatabaseAction} from '../incident/database/plan.js';
import type {DatabasePhase} from '../incident/database/run.js';
import {checkRoom, verifyBackup} from '../incident/database/backups.js';
import {checkSqliteRestore} from '../incident/database/sqlite-restore.js';
import {openIncident} from '../incident/incident-store.js';
import {currentOperator} from '../incident/operator.js';
import {describeHolder} from '../incident/project-lock.js';
import {recordStatus, type Recorder} from '../incident/step-kit.js';
import {Timeline} from '../incident/timeline.js';
import {boundaryEvent} from '../incident/database/boundary.js';
import {incidentDir, incidentFiles, readCurrentPointer} from '../incident/layout.js';
import {resolveStateDir} from '../incident/state-dir.js';
import {formatBytes, formatTable} from '../presentation/format.js';
import {connectDatabase, runLocked} from '../console/database-model.js';
import type {GlobalOptions} from './global-options.js';

const usage = 'db [--json] · db backup [--json] · db restore [BACKUP] [--tables T,…] [--yes] · db down [--yes]';

function factsText(facts: DatabaseFacts): string {
	const lines: string[] = [];
	const f = facts.found;
	if (!f) return `${facts.notes.join('\n')}\n`;
	lines.push(`Database: ${f.kind} in service ${f.service}${f.container ? ` (${f.container.name})` : ''}, ${f.kind === 'sqlite' ? `file ${f.file}` : `database ${f.database}, user ${f.user}`} — found by ${f.how}`);
	const m = facts.migrations ?? {table: '?', tools: '', applied: [], head: null};
	if (facts.migrations) lines.push(`Migrations table: ${m.table} (${m.tools}); ${m.applied.length} applied, head ${m.head ?? 'none'}`);
	else lines.push('Migrations: unknown (see the note below)');
	const b = facts.boundary;
	if (facts.target) lines.push(`Rollback target: ${facts.target.tag} (${facts.target.how === 'to' ? '--to' : facts.target.how === 'last-known-good' ? 'the last known good' : 'the release before the current one'}), current: ${facts.currentTag ?? '?'}`);
	if (b) lines.push(`Boundary rule: ${b.rule} — ${b.ruleText}`);
	const past = new Set(b?.past.map(p => p.version) ?? []);
	const rows = m.applied.map(a => [past.has(a.version) ? '›' : ' ', a.version, a.appliedAt ?? '-', a.version === b?.targetHead ? `── ${facts.target?.tag} ends here` : '']);
	if (rows.length > 0) lines.push('', formatTable(['', 'VERSION', 'APPLIED', ''], rows).replace(/^/gm, '  '));
	for (const p of b?.past ?? []) {
		if (!p.flagged) lines.push(`  ${p.version}: SQL not readable in the current image`);
		else if (p.flagged.length === 0) lines.push(`  ${p.version} (${p.file}): additive (heuristic)`);
		else for (const s of p.flagged) lines.push(`  ${p.version} (${p.file}) line ${s.line}: ${s.rule} — ${s.statement}   [heuristic]`);
	}
	if (facts.backups.length > 0) {
		lines.push('', `Backups (${facts.backupDir}):`);
		lines.push(
			formatTable(
				['TIME', 'RELEASE', 'HEAD', 'SIZE', 'SHA256', 'FILE'],
				facts.backups.slice(-8).map(x => [x.time.slice(0, 19).replace('T', ' '), x.release ?? '-', x.migrationHead ?? '-', formatBytes(x.bytes), x.sha256.slice(0, 12), `${basename(x.path)}${x.present ? '' : ' (gone)'}`]),
			).replace(/^/gm, '  '),
		);
	} else lines.push('', `Backups: none yet in ${facts.backupDir} (rollback-console db backup)`);
	return `${lines.join('\n')}\n`;
}

function planText(facts: DatabaseFacts): string {
	const plan = planDatabase(facts);
	const lines = ['', 'Plan (in the runbooks\' order):'];
	plan.actions.forEach((a, i) => {
		lines.push(`  ${i + 1}. ${a.title}${a.destructive ? '  [destructive: typed confirmation]' : ''}`);
		for (const d of a.does) lines.push(`       ${d}`);
	});
	if (plan.warnings.length > 0) lines.push('', ...plan.warnings.map(w => `Warning: ${w}`));
	if (facts.notes.length > 0) lines.push(...facts.notes.filter(n => !plan.warnings.includes(n)).map(n => `Note: ${n}`));
	return `${lines.join('\n')}\n`;
}

async function typed(prompt: string, expected: string): Promise<boolean> {
	const rl = createInterface({input: process.stdin, output: process.stderr});
	try {
		return (await rl.question(`${prompt}\n  type ${expected} to confirm (anything else cancels): `)).trim() === expected;
	} finally {
		rl.close();
	}
}

const interactive = () => Boolean(process.stdin.isTTY && process.stdout.isTTY);

/** `--yes`, or the named thing typed back on a terminal; refused without either. */
async function confirm(options: GlobalOptions, action: DatabaseAction, what: string): Promise<boolean> {
	if (options.yes) return true;
	if (!interactive()) throw new ConsoleError(`db ${what} refused: no terminal to confirm on; pass --yes`);
	if (action.confirmation.kind === 'key') return true;
	return typed(`${action.title}`, action.confirmation.text);
}

function progressPrinter(json: boolean) {
	let last = 0;
	return (phase: DatabasePhase, bytes: number, total: number | null) => {
		if (json || !process.stderr.isTTY) return;
		const now = Date.now();
		if (now - last < 250) return;
		last = now;
		process.stderr.write(`\r${phase}: ${formatBytes(bytes)}${total ? ` of ${formatBytes(total)}` : ''}        `);
	};
}

async function recordBoundary(projectDir: string, data: Record<string, unknown>): Promise<void> {
	const pointer = await readCurrentPointer(projectDir);
	if (!pointer) return;
	const timeline = await Timeline.open(incidentFiles(incidentDir(projectDir, pointer.incident)).timeline, {operator: currentOperator()});
	await timeline.append('database', 'database_boundary', data);
}

export async function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	const [word, ...rest] = args;
	if (word !== undefined && !['backup', 'restore', 'down'].includes(word)) throw new ConsoleError(`db: unexpected argument "${word}" (${usage})`);
	if (word !== 'restore' && rest.length > 0) throw new ConsoleError(`db ${word ?? ''}: unexpected argument "${rest[0]}" (${usage})`.replace('db :', 'db:'));
	if (word === 'restore' && rest.length > 1) throw new ConsoleError(`db restore: one backup at most, got "${rest.join(' ')}"`);
	if (options.tables !== undefined && word !== 'restore') throw new ConsoleError('db: --tables goes with `db restore`');
	if (options.yes && (word === undefined || word === 'backup')) throw new ConsoleError(`db${word ? ` ${word}` : ''}: --yes goes with \`db restore\` and \`db down\``);
	if (options.backup === false && word !== 'restore' && word !== 'down') throw new ConsoleError('db: --no-backup goes with `db restore` and `db down`');
	if (word && options.readOnly) throw new ConsoleError(`db ${word}: --read-only forbids changing the database`);
	const tables = options.tables?.split(',').map(t => t.trim()).filter(Boolean);
	if (options.tables !== undefined && (!tables || tables.length === 0)) throw new ConsoleError('--tables needs table names, like --tables users,orders');

	const project = locateProject(options);
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const facts = await gatherDatabase(connectDatabase(), project, stateDir.dir, {to: options.to ?? null, foundOnly: word === 'backup'});
	if (!word) {
		// Into the open incident, if there is one (the report opens none): the Stabilise plan reads it.
		if (facts.boundary && facts.target && !options.readOnly) await recordBoundary(facts.projectDir, boundaryEvent(facts.boundary, facts.target.tag)).catch(() => {});
		if (options.json) process.stdout.write(`${JSON.stringify({...factsJson(facts), plan: planDatabase(facts)}, null, 2)}\n`);
		else process.stdout.write(factsText(facts) + planText(facts));
		if (!facts.found) return exitCodes.ok;
		return facts.boundary && facts.boundary.verdict === 'nothing-past' ? exitCodes.ok : exitCodes.wanting;
	}
	if (!facts.found || !facts.client) throw new ConsoleError(`db ${word}: no database found in ${facts.project} (configure x-rollback-console.database)`);
	if (facts.lock.state === 'held') throw new ConsoleError(`db ${word} refused: the project is locked by ${describeHolder(facts.lock.holder)}`);

	let action: DatabaseAction;
	if (word === 'backup') action = backupAction(facts);
	else if (word === 'restore') {
		const backup = rest[0] ? findBackup(facts, rest[0]) : defaultBackup(facts);
		if (!backup) {
			throw new ConsoleError(
				rest[0]
					? `db restore: no backup "${rest[0]}" in ${facts.backupDir}/backups.log (db lists them)`
					: `db restore: no backup from before the bad release in ${facts.backupDir}/backups.log; name one (db lists them)`,
			);
		}
		action = restoreAction(facts, backup, {freshBackup: options.backup !== false});
	} else {
		const down = downAction(facts, {freshBackup: options.backup !== false});
		if (!down) {
			throw new ConsoleError(
				facts.migrations?.head ? 'db down: no migrate-down command (set x-rollback-console.database.down_command)' : 'db down: no migration applied: nothing to step down from',
			);
		}
		action = down;
	}
	// A corrupted backup, or a disk too small for the (fresh) dump, is refused before anything is asked or touched.
	if (action.kind === 'restore') await verifyBackup(action.backup!);
	if (action.kind === 'restore' && facts.found.kind === 'sqlite') await checkSqliteRestore(facts, action.backup!);
	if (action.kind === 'backup' || options.backup !== false) await checkRoom(facts.client, facts.backupDir);
	if (!options.json) {
		process.stdout.write(`${action.title}\n${action.does.map(d => `  ${d}`).join('\n')}\n`);
	}
	// A backup only adds a file: it runs without asking (as the usage says: no --yes).
	if (action.kind !== 'backup' && !(await confirm(options, action, word))) {
		process.stderr.write('cancelled: nothing was changed\n');
		return exitCodes.wanting;
	}
	// Skipping the fresh backup before a destructive action needs its own typed confirmation.
	if (options.backup === false) {
		if (!interactive()) throw new ConsoleError(`db ${word} refused: --no-backup needs the database's name typed on a terminal (it cannot be skipped with --yes alone)`);
		const name = facts.found.database || basename(facts.found.file ?? '');
		if (!(await typed(`Skip the fresh backup of ${name} before this ${word}?`, name))) {
			process.stderr.write('cancelled: nothing was changed\n');
			return exitCodes.wanting;
		}
	}

	const operator = currentOperator();
	const incident = await openIncident({stateDir: stateDir.dir, project: facts.project, operator, context: {workingDir: project.workingDir, files: project.files}});
	const record: Recorder = (step, type, data) => incident.timeline.append(step, type, data);
	await recordStatus(record, 'database', 'in-progress');
	const outcome = await runLocked(facts, action, record, {
		what: `db ${word}`,
		onProgress: progressPrinter(options.json),
		skipFreshBackup: options.backup === false,
		...(tables ? {tables} : {}),
	});
	if (process.stderr.isTTY && !options.json) process.stderr.write('\r\u001B[K');
	if (word !== 'backup') await recordStatus(record, 'database', outcome.ok ? 'done' : 'failed', outcome.error ?? undefined);
	if (options.json) {
		process.stdout.write(`${JSON.stringify({project: facts.project, incident: incident.id, action: action.id, ...outcome}, null, 2)}\n`);
		// The same exit code as without --json: a script must not read a failed restore as done.
		return outcome.ok ? exitCodes.ok : exitCodes.failedMidway;
	}
	if (outcome.ok) {
		const d = outcome.data ?? {};
		if (word === 'backup') {
			const b = d['backup'] as {path: string; bytes: number; sha256: string; durationMs: number; migrationHead: string | null; notes?: string[]};
			process.stdout.write(`Backed up to ${b.path}: ${formatBytes(b.bytes)} in ${(b.durationMs / 1000).toFixed(1)} s, sha256 ${b.sha256}, head ${b.migrationHead ?? 'none'}\n`);
			for (const note of b.notes ?? []) process.stdout.write(`Note: ${note}\n`);
		} else if (word === 'restore') {
			process.stdout.write(`Restored ${basename(action.backup!.path)}: head ${String(d['head'])}, row counts match (${Object.keys((d['rows'] as object) ?? {}).length} tables). The app services are stopped: next, Stabilise (rollback) to redeploy the last known good, then Verify.\n`);
			for (const note of (d['notes'] as string[] | undefined) ?? []) process.stdout.write(`Note: ${note}\n`);
		} else {
			process.stdout.write(`Stepped down one migration: ${String(d['from'])} → ${String(d['to'] ?? 'none')}. Another step needs a new confirmation (db down again).\n`);
		}
	} else {
		throw new ConsoleError(`db ${word} failed: ${outcome.error}`, exitCodes.failedMidway);
	}
	return exitCodes.ok;
}
