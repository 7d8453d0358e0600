import {readdir, readFile} from 'node:fs/promises';
import {beginStep, openIncident} from '../incident-store.js';
import {incidentDir as incidentDirOf, incidentFiles, projectFiles} from '../layout.js';
import type {Operator} from '../operator.js';
import {acquireLock, holderFor, readLock, releaseLock, type LockHolder} from '../project-lock.js';
import {launchWorker, readResult, workerAlive, type Launched, type SpareWorker} from './launch.js';
import type {RollbackPlan} from './plan.js';
import {workerPaths, type WorkerJob, type WorkerPaths, type WorkerResult} from './run.js';

/**
 * Starting a confirmed plan, the same way for the headless commands and the console: take
 * the lock, open (or resume) the incident, launch the worker and hand it the lock.
 */

export interface StartOptions {
	plan: RollbackPlan;
	stateProjectDir: string;
	stateDir: string;
	operator: Operator;
	/** The lock this process already holds (an open console); null: take it now. */
	held: LockHolder | null;
	takeOverStale: boolean;
	/** Facts for incident_opened when a rollback opens a new incident. */
	context?: Record<string, unknown>;
	/** A worker started ahead, to be handed this run (else one is started now). */
	spare?: SpareWorker | null;
}

export interface Started extends Launched {
	incident: string | null;
	timelineFile: string;
	tookOver: LockHolder | null;
}

/** Where a run's timeline and worker output go: the open incident for a rollback, `deploys/` for a deploy outside one. */
export async function startRun(options: StartOptions): Promise<Started> {
	const {plan, operator} = options;
	const what = `${plan.kind} to ${plan.to.tag}`;
	// The lock and the incident side by side: both are on the way to the first compose command.
	const opening =
		plan.kind === 'rollback'
			? openIncident({
					stateDir: options.stateDir,
					project: plan.project.name,
					operator,
					context: options.context ?? {workingDir: plan.project.workingDir, files: plan.project.files},
				})
			: null;
	opening?.catch(() => {});
	const acquired = options.held
		? {holder: options.held, tookOver: null}
		: await acquireLock(options.stateProjectDir, holderFor(operator, what), {takeOverStale: options.takeOverStale});
	try {
		let timelineFile: string;
		let workerDir: string;
		let incident: string | null = null;
		if (opening) {
			const opened = await opening;
			if (acquired.tookOver) await opened.timeline.append('stabilise', 'lock_taken_over', {stale: acquired.tookOver});
			// The headless path's start of the step; the console's was opening it.
			await beginStep(opened.timeline, 'stabilise');
			await opened.timeline.settled();
			timelineFile = opened.timeline.file;
			workerDir = incidentFiles(opened.dir).worker;
			incident = opened.id;
		} else {
			timelineFile = projectFiles(options.stateProjectDir).deploysTimeline;
			workerDir = projectFiles(options.stateProjectDir).deploys;
		}
		const launched = await launchWorker({
			plan,
			workerDir,
			timelineFile,
			projectDir: options.stateProjectDir,
			incident,
			operator: {user: operator.user, sshConnection: operator.sshConnection, host: operator.host},
			lock: {...acquired.holder, what},
			// A console keeps the project after the run; a headless command lets it go.
			returnLockTo: options.held,
			spare: options.spare ?? null,
		});
		return {...launched, incident, timelineFile, tookOver: acquired.tookOver};
	} catch (error) {
		if (!options.held) await releaseLock(options.stateProjectDir, acquired.holder).catch(() => {});
		throw error;
	}
}

export interface RunSummary {
	runId: string;
	paths: WorkerPaths;
	job: WorkerJob | null;
	running: boolean;
	pid: number | null;
	processStart: number | null;
	result: WorkerResult | null;
}

async function runsIn(workerDir: string): Promise<string[]> {
	try {
		return (await readdir(workerDir)).filter(name => /^\d{8}T\d{6}Z-(rollback|deploy)-[0-9a-f]{4}$/.test(name));
	} catch {
		return [];
	}
}

/** The newest run of the project (any incident, or deploys/), running or finished. */
export async function latestRun(stateProjectDir: string, {incidentDir}: {incidentDir?: string} = {}): Promise<RunSummary | null> {
	const dirs: string[] = [projectFiles(stateProjectDir).deploys];
	if (incidentDir) dirs.push(incidentFiles(incidentDir).worker);
	else {
		const incidents = await readdir(projectFiles(stateProjectDir).incidents).catch(() => [] as string[]);
		for (const id of incidents) dirs.push(incidentFiles(incidentDirOf(stateProjectDir, id)).worker);
	}
	let newest: {runId: string; dir: string} | null = null;
	for (const dir of dirs) {
		for (const runId of await runsIn(dir)) {
			if (!newest || runId > newest.runId) newest = {runId, dir};
		}
	}
	if (!newest) return null;
	const paths = workerPaths(newest.dir, newest.runId);
	const result = await readResult(paths);
	let job: WorkerJob | null = null;
	try {
		job = JSON.parse(await readFile(paths.job, 'utf8')) as WorkerJob;
	} catch {
		// Being written, or damaged: the output still tells.
	}
	// The worker's pid is in the lock while it runs.
	const holder = await readLock(stateProjectDir);
	const pid = holder && holder.what.endsWith('(worker)') ? holder.pid : null;
	const running = !result && pid !== null && workerAlive(pid, holder!.processStart);
	return {runId: newest.runId, paths, job, running, pid, processStart: holder?.processStart ?? null, result};
}
