import {createInterface} from 'node:readline/promises';
import {locateProject} from '../engine/compose-project.js';
import {ConsoleError, exitCodes, isConsoleError} from '../errors.js';
import {isDiskFull} from '../incident/atomic-file.js';
import {gatherDisk, type DiskOutside, type GatheredDisk} from '../incident/disk/gather.js';
import {selectActions, type DiskAction, type DiskReport, type ProtectedItem} from '../incident/disk/plan.js';
import {runDiskStep, type DiskActionResult, type DiskStepRunner} from '../incident/disk/run.js';
import {beginStep, openIncident} from '../incident/incident-store.js';
import {incidentFiles} from '../incident/layout.js';
import {currentOperator} from '../incident/operator.js';
import {acquireLock, describeHolder, holderFor, lockState, releaseLock, type LockHolder} from '../incident/project-lock.js';
import {projectStateDir, resolveStateDir} from '../incident/state-dir.js';
import {actionVerbs, clip, clipName, formatPercent, usageBar} from '../presentation/disk-format.js';
import {formatBytes, formatTable, paint, useColor} from '../presentation/format.js';
import type {ComposeProject} from '../engine/types.js';
import {connectDisk, fallbackEvidence} from '../console/connect-disk.js';
import type {GlobalOptions} from './global-options.js';

const labels = {root: '/', docker: 'docker', state: 'state'} as const;
// Protected items of these kinds are many on a shared box: the text shows a few, --json all.
const summarised = new Set<ProtectedItem['category']>(['other-project', 'in-use', 'compose-container', 'digest-of-other-repository']);
const maxListed = 6;

function usageLines(report: DiskReport, color: boolean): string[] {
	const lines = [`Disk usage · threshold ${report.thresholdPercent}% (x-rollback-console.disk.threshold_percent)`];
	for (const f of report.filesystems) {
		const name = `${labels[f.label].padEnd(6)} ${clip(f.path, 28).padEnd(28)}`;
		if (f.sameAs) {
			lines.push(`  ${name} same filesystem as ${report.filesystems.find(x => x.label === f.sameAs)!.path}`);
			continue;
		}
		const bar = paint(usageBar(f.usedPercent, report.thresholdPercent, 24), f.over ? 'bad' : 'good', color);
		lines.push(
			`  ${name} ${bar} ${formatPercent(f.usedPercent).padStart(4)}  ${formatBytes(f.used)} used, ${formatBytes(f.free)} free of ${formatBytes(f.size)}${f.over ? paint('  OVER THE THRESHOLD', 'bad', color) : ''}`,
		);
	}
	return lines;
}

function dockerLines(report: DiskReport): string[] {
	const d = report.docker;
	const row = (name: string, s: typeof d.images) => [name, String(s.total), String(s.active), formatBytes(s.size), formatBytes(s.reclaimable)];
	return [
		`Docker (system df, at ${report.engine.dockerRootDir}) — what Docker calls reclaimable, not what this plan removes`,
		formatTable(
			['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
			[row('Images', d.images), row('Containers', d.containers), row('Local volumes', d.volumes), row('Build cache', d.buildCache)],
		).replace(/^/gm, '  '),
	];
}

function logLines(report: DiskReport): string[] {
	if (report.logs.length === 0) return [report.engine.local ? 'Largest container logs: none readable (json-file)' : 'Largest container logs: not on this box'];
	return [
		'Largest container logs (json-file)',
		formatTable(
			['CONTAINER', 'STATE', 'SIZE', 'FILE'],
			report.logs.map(l => [l.container, l.state, formatBytes(l.allocated), l.path]),
		).replace(/^/gm, '  '),
	];
}

function actionRows(actions: readonly DiskAction[]): string[][] {
	return actions.map(a => [actionVerbs[a.kind]!, a.kind === 'remove-volume' ? clip(a.name, 16) : clipName(a.kind, a.name, 48), formatBytes(a.bytes), a.detail]);
}

function planLines(report: DiskReport, color: boolean): string[] {
	const {plan} = report;
	const safe = plan.actions.filter(a => a.safe);
	const optional = plan.actions.filter(a => !a.safe);
	const lines: string[] = [];
	lines.push(
		safe.length > 0
			? `Plan: \`disk prune --yes\` frees about ${paint(formatBytes(plan.estimate.safe), 'good', color)} in ${safe.length} action${safe.length === 1 ? '' : 's'}, one at a time`
			: 'Plan: nothing to remove safely',
	);
	if (safe.length > 0) lines.push(formatTable(['ACTION', 'TARGET', 'SIZE', 'WHY'], actionRows(safe)).replace(/^/gm, '  '));
	if (optional.length > 0) {
		lines.push('', `Only when named (--volume NAME, log:CONTAINER, backup:FILE) or confirmed in the console: about ${formatBytes(plan.estimate.optional)}`);
		lines.push(formatTable(['ACTION', 'TARGET', 'SIZE', 'WHAT'], actionRows(optional)).replace(/^/gm, '  '));
	}
	lines.push('', 'Kept, and why');
	const rows: string[][] = [];
	const groups = new Map<string, ProtectedItem[]>();
	for (const item of plan.protected) {
		if (!summarised.has(item.category)) {
			rows.push([item.kind, clipName(item.kind, item.name, 48), formatBytes(item.bytes), item.reason]);
			continue;
		}
		groups.set(item.category, [...(groups.get(item.category) ?? []), item]);
	}
	for (const items of groups.values()) {
		for (const item of items.slice(0, maxListed)) rows.push([item.kind, clipName(item.kind, item.name, 48), formatBytes(item.bytes), item.reason]);
		if (items.length > maxListed) rows.push(['', `… and ${items.length - maxListed} more like these`, '', '(--json lists every one)']);
	}
	lines.push(rows.length > 0 ? formatTable(['KIND', 'NAME', 'SIZE', 'REASON'], rows).replace(/^/gm, '  ') : '  nothing');
	return lines;
}

export function renderDiskReport(report: DiskReport, color: boolean): string {
	const lines = [...usageLines(report, color), '', ...dockerLines(report), '', ...logLines(report), ''];
	if (report.releases) {
		const r = report.releases;
		lines.push(
			`Releases of ${r.repositories.join(', ')}: current ${r.current ?? '-'} · last known good ${r.lastKnownGood ?? 'none verified'} · keeping ${r.kept.map(k => k.tag).join(', ') || 'none'}`,
			'',
		);
	}
	lines.push(...planLines(report, color));
	if (report.notes.length > 0) lines.push('', ...report.notes.map(n => `Note: ${n}`));
	lines.push('', report.over ? `${report.project}: over the ${report.thresholdPercent}% threshold` : `${report.project}: under the ${report.thresholdPercent}% threshold`);
	return `${lines.join('\n')}\n`;
}

function resultLine(r: DiskActionResult, index: number, total: number): string {
	const head = `[${index + 1}/${total}] ${actionVerbs[r.action]} ${r.action === 'remove-image' && r.name.startsWith('<none>') ? r.name : clip(r.name, 60)}`;
	if (!r.ok) return `${head}: FAILED — ${r.error}`;
	const how = r.measuredBy === 'statfs' ? 'statfs' : r.measuredBy === 'engine' ? 'engine' : 'estimated';
	return `${head}: freed ${formatBytes(r.bytesFreed)} (${how}; estimate ${formatBytes(r.estimate)}, ${r.ms} ms)${r.saved ? ` · tail (${r.saved.lines} lines) saved to ${r.saved.file}` : ''}`;
}

/** Asks about each action on the terminal: y, n, a (this and all the rest), q. */
async function confirmEach(actions: DiskAction[]): Promise<DiskAction[]> {
	const rl = createInterface({input: process.stdin, output: process.stderr});
	const chosen: DiskAction[] = [];
	let all = false;
	try {
		for (const action of actions) {
			const what = `${actionVerbs[action.kind]} ${action.name} (${formatBytes(action.bytes)}): ${action.does}`;
			if (action.typed) {
				// Destructive and optional: the name typed back, however "all" was answered.
				const answer = await rl.question(`${what}\n  type ${action.typed} to confirm (anything else skips it): `);
				if (answer.trim() === action.typed) chosen.push(action);
				continue;
			}
			if (all) {
				chosen.push(action);
				continue;
			}
			const answer = (await rl.question(`${what}\n  run it? [y]es [n]o [a]ll the rest [q]uit: `)).trim().toLowerCase();
			if (answer === 'q') break;
			if (answer === 'a') all = true;
			if (answer === 'y' || answer === 'a') chosen.push(action);
		}
	} finally {
		rl.close();
	}
	return chosen;
}

export async function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	const [word, ...rest] = args;
	const prune = word === 'prune';
	if (word !== undefined && !prune) throw new ConsoleError(`disk: unexpected argument "${word}" (disk [--json], or disk prune [--yes] [--json])`);
	const volumes = options.volumes ?? [];
	if (volumes.some(v => v.trim() === '')) throw new ConsoleError('--volume needs a value (the volume\'s name, or at least its first 12 characters)');
	if (!prune && options.yes) throw new ConsoleError('disk: --yes goes with `disk prune` (plain `disk` changes nothing)');
	if (!prune && volumes.length > 0) throw new ConsoleError('disk: --volume goes with `disk prune`');
	const logs: string[] = [];
	const backups: string[] = [];
	for (const item of rest) {
		const match = /^(log|backup):(.+)$/.exec(item);
		if (!match) throw new ConsoleError(`disk prune: unexpected argument "${item}" (name a log to truncate as log:CONTAINER, an old database backup as backup:FILE)`);
		(match[1] === 'log' ? logs : backups).push(match[2]!);
	}
	if (prune && options.readOnly) throw new ConsoleError('disk prune: --read-only forbids removing anything');

	const project = locateProject(options);
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const outside = connectDisk();
	const gathered = await gatherDisk(outside, project, {stateDir: stateDir.dir});
	const {report} = gathered;
	const color = useColor(process.stdout, process.env, options.color);
	if (!prune) {
		process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderDiskReport(report, color));
		return report.over ? exitCodes.wanting : exitCodes.ok;
	}

	let actions = selectActions(report, gathered.facts, {volumes, logs, backups});
	if (!options.json) process.stdout.write(renderDiskReport(report, color));
	if (!options.yes) {
		if (!process.stdin.isTTY || !process.stdout.isTTY) {
			throw new ConsoleError('disk prune refused: no terminal to confirm on; pass --yes to run the plan\'s safe actions (volumes and logs only when named)');
		}
		actions = await confirmEach(actions);
	}
	if (actions.length === 0) {
		if (options.json) process.stdout.write(`${JSON.stringify({project: report.project, plan: report, results: [], freedBytes: 0}, null, 2)}\n`);
		else process.stdout.write('\nNothing to run: nothing was changed.\n');
		return report.over ? exitCodes.wanting : exitCodes.ok;
	}

	// One operator at a time: a rollback in flight may be about to start an image.
	const operator = currentOperator();
	const lockDir = projectStateDir(stateDir.dir, report.project);
	const held = await takeLock(lockDir, holderFor(operator, 'disk prune'), options.yes);
	try {
		return await runPrune(options, {project, report, gathered, outside, actions, operator, stateDir: stateDir.dir});
	} finally {
		if (held) await releaseLock(lockDir, held).catch(() => {});
	}
}

/** The project's lock for the prune; on a disk too full to write the lock file, only a check that nobody holds it. */
async function takeLock(lockDir: string, holder: LockHolder, takeOverStale: boolean): Promise<LockHolder | null> {
	try {
		return (await acquireLock(lockDir, holder, {takeOverStale})).holder;
	} catch (error) {
		if (isConsoleError(error)) throw new ConsoleError(`disk prune refused: ${error.message}`);
		if (!isDiskFull(error)) throw error;
		const lock = await lockState(lockDir);
		if (lock.state === 'held') throw new ConsoleError(`disk prune refused: the project is locked by ${describeHolder(lock.holder)}`);
		return null;
	}
}

export interface Pruning {
	project: ComposeProject;
	report: DiskReport;
	gathered: GatheredDisk;
	outside: DiskOutside;
	actions: DiskAction[];
	operator: ReturnType<typeof currentOperator>;
	stateDir: string;
}

export async function runPrune(options: Pick<GlobalOptions, 'json'>, {project, report, gathered, outside, actions, operator, stateDir}: Pruning): Promise<number> {
	// An incident left open over a newer failure is continued and said; a new one is announced.
	const {lookAtOpenIncident, servicesNow} = await import('../incident/follow-up/new-problem.js');
	const look = await servicesNow(gathered.engine, gathered.loaded).then(services => lookAtOpenIncident(gathered.projectDir, services)).catch(() => null);
	if (look?.notice) process.stderr.write(`${look.notice} (continuing it; rollback-console close ends it)\n`);
	const incident = await openIncident({
		stateDir,
		project: report.project,
		operator,
		context: {workingDir: project.workingDir, files: project.files},
	});
	const record = (step: Parameters<typeof incident.timeline.append>[0], type: string, data: Record<string, unknown>) => incident.timeline.append(step, type, data);
	if (!incident.resumed && gathered.loaded) {
		const {announce} = await import('../incident/follow-up/announce.js');
		const line = await announce({settings: gathered.loaded.settings, project: report.project, incident: incident.id, timelineFile: incident.timeline.file, operator}, 'incident_opened');
		if (line) process.stderr.write(`${line}\n`);
	}
	await beginStep(incident.timeline, 'disk');
	await record('disk', 'disk_plan', {
		estimate: actions.reduce((sum, a) => sum + a.bytes, 0),
		actions: actions.map(a => ({id: a.id, action: a.kind, target: a.target, name: a.name, bytes: a.bytes, does: a.does})),
		protected: report.plan.protected.length,
	});
	const runner: DiskStepRunner = {
		engine: gathered.engine,
		host: outside.host,
		report,
		evidenceDir: incidentFiles(incident.dir).evidence,
		fallbackDir: () => fallbackEvidence(report.project, incident.id),
		record,
	};
	if (!options.json) process.stdout.write(`\nRunning ${actions.length} action${actions.length === 1 ? '' : 's'}, one at a time (incident ${incident.id}):\n`);
	const result = await runDiskStep(runner, actions, {
		onResult: (r, i) => {
			if (!options.json) process.stdout.write(`${resultLine(r, i, actions.length)}\n`);
		},
	});
	const {over} = result;

	if (options.json) {
		const json = {
			project: report.project,
			incident: incident.id,
			plan: report,
			ran: actions.map(a => a.id),
			results: result.results,
			before: result.before,
			after: result.after,
			freedBytes: result.freedBytes,
			estimate: result.estimate,
			failed: result.failed,
			over,
		};
		process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
	} else {
		const freeLine =
			result.before !== null && result.after !== null
				? `free space on ${report.engine.dockerRootDir}: ${formatBytes(result.before)} → ${formatBytes(result.after)}`
				: 'free space not measured (the Engine is not on this box)';
		process.stdout.write(
			`\nFreed ${formatBytes(result.freedBytes)} (estimated ${formatBytes(result.estimate)}); ${freeLine}${result.failed > 0 ? `; ${result.failed} failed` : ''}\n` +
				`${over ? `Still over the ${report.thresholdPercent}% threshold.` : `Under the ${report.thresholdPercent}% threshold.`} Recorded in incident ${incident.id}${incident.timeline.fellBack ? ` (timeline on tmpfs: ${incident.timeline.file})` : ''}.\n`,
		);
	}
	if (result.failed > 0) return exitCodes.failedMidway;
	return over ? exitCodes.wanting : exitCodes.ok;
}
