import {randomBytes} from 'node:crypto';
import {mkdir, open, readFile, rm, stat, unlink} from 'node:fs/promises';
import {hostname} from 'node:os';
import {join, resolve} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {ConsoleError} from '../errors.js';
import {errorCode, isDiskFull, removeIfSame, syncDir, writeFileAtomic} from './atomic-file.js';
import {currentOperator, processAlive, type Operator} from './operator.js';
import {fallbackCandidates, projectStateDir, tmpfsFallbackDir} from './state-dir.js';
import {isStepId, STEP_IDS, Timeline, type StepId, type TimelineEvent} from './timeline.js';

export interface Incident {
	id: string;
	/** `<state>/<project>/incidents/<id>`; under the tmpfs fallback when the state disk was full at opening. */
	dir: string;
	/** `<state>/<project>` (or its tmpfs mirror, see `dir`). */
	projectDir: string;
	openedAt: string;
	timeline: Timeline;
	resumed: boolean;
}

/** The files and directories of an incident (DESIGN.md, "State on the box"). */
export const incidentFiles = (dir: string) => ({
	timeline: join(dir, 'timeline.jsonl'),
	evidence: join(dir, 'evidence'),
	worker: join(dir, 'worker'),
	report: join(dir, 'report.md'),
});

export interface OpenIncidentOptions {
	/** The resolved state dir (resolveStateDir().dir). */
	stateDir: string;
	/** The Compose project name. */
	project: string;
	operator: Operator;
	now?: () => number;
	/** Where the tmpfs fallback is looked for (ROLLBACK_CONSOLE_FALLBACK_DIR). */
	env?: NodeJS.ProcessEnv;
	/** Extra facts for the incident_opened event (compose working dir, files, …). */
	context?: Record<string, unknown>;
}

/** Where an incident is opened: the state dir, or its tmpfs mirror when that disk is full. */
interface Place {
	projectDir: string;
	/** The state dir's project dir, when `projectDir` is its tmpfs mirror. */
	mirrorOf: string | null;
	reason: string | null;
}

interface CurrentPointer {
	incident: string;
	openedAt: string;
}

const idPattern = /^\d{8}-\d{6}-[0-9a-f]{4}$/;
const lockStaleMs = 30_000;
const lockGiveUpMs = 45_000;

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYYMMDD-HHMMSS-<4 hex>` in UTC, so listing the directory lists incidents in time order. */
export function newIncidentId(time: number): string {
	const d = new Date(time);
	const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
	const clock = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
	return `${date}-${clock}-${randomBytes(2).toString('hex')}`;
}

const currentFile = (projectDir: string) => join(projectDir, 'current');
const lockFile = (projectDir: string) => join(projectDir, 'current.lock');
const incidentDir = (projectDir: string, id: string) => join(projectDir, 'incidents', id);

async function readCurrent(projectDir: string): Promise<CurrentPointer | null> {
	let text: string;
	try {
		text = await readFile(currentFile(projectDir), 'utf8');
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return null;
		throw error;
	}
	try {
		const value = JSON.parse(text) as Partial<CurrentPointer>;
		// Validated: the id becomes a path.
		if (typeof value.incident !== 'string' || !idPattern.test(value.incident)) return null;
		return {incident: value.incident, openedAt: typeof value.openedAt === 'string' ? value.openedAt : ''};
	} catch {
		// Unreadable pointer: treat as no open incident; a new pointer replaces it atomically.
		return null;
	}
}

async function isDirectory(path: string): Promise<boolean> {
	try {
		return (await stat(path)).isDirectory();
	} catch (error) {
		if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
		throw error;
	}
}

const reasonFor = (error: unknown) =>
	errorCode(error) === 'EDQUOT' ? 'disk quota exceeded (EDQUOT)' : 'no space left on device (ENOSPC)';

// ---------------------------------------------------------------------------------------
// current.lock: held only around read-decide-write of `current`, never during a step.

interface LockHolder {
	pid: number;
	host: string;
	user: string;
	since: string;
}


async function readHolder(file: string): Promise<LockHolder | null> {
	try {
		const value = JSON.parse(await readFile(file, 'utf8')) as Partial<LockHolder>;
		if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null;
		return {pid: value.pid, host: value.host, user: String(value.user ?? '?'), since: String(value.since ?? '?')};
	} catch {
		return null;
	}
}

/** Removes the lock when it is older than 30 s or its holder on this host is gone; true when it is gone. */
async function clearStaleLock(file: string): Promise<boolean> {
	let info;
	try {
		info = await stat(file);
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return true;
		throw error;
	}
	const holder = await readHolder(file);
	const dead = holder !== null && holder.host === hostname() && !processAlive(holder.pid);
	if (!dead && Date.now() - info.mtimeMs <= lockStaleMs) return false;
	return removeIfSame(file, info.ino);
}

async function acquireLock(file: string, operator: Operator): Promise<number> {
	const giveUpAt = Date.now() + lockGiveUpMs;
	for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
		try {
			const handle = await open(file, 'wx', 0o600);
			try {
				const holder: LockHolder = {pid: process.pid, host: operator.host, user: operator.user, since: new Date().toISOString()};
				// Who holds it is for messages only: on a full disk an empty lock still locks.
				await handle.writeFile(`${JSON.stringify(holder)}\n`).catch(() => {});
				return (await handle.stat()).ino;
			} finally {
				await handle.close();
			}
		} catch (error) {
			if (errorCode(error) !== 'EEXIST') throw error;
		}
		if (await clearStaleLock(file)) continue;
		if (Date.now() > giveUpAt) {
			const holder = await readHolder(file);
			const who = holder ? `${holder.user} (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : 'another process';
			throw new ConsoleError(`${file} is held by ${who}; if no rollback-console is running, remove it`);
		}
		await sleep(wait + Math.random() * wait);
	}
}

async function withLock<T>(projectDir: string, operator: Operator, task: () => Promise<T>): Promise<T> {
	const file = lockFile(projectDir);
	const ino = await acquireLock(file, operator);
	try {
		return await task();
	} finally {
		// Only our own lock: had we stalled past 30 s, it may be someone else's by now.
		const info = await stat(file).catch(() => null);
		if (info?.ino === ino) await unlink(file).catch(() => {});
	}
}

// ---------------------------------------------------------------------------------------

function openTimeline(place: Place, id: string, options: OpenIncidentOptions, env: NodeJS.ProcessEnv): Promise<Timeline> {
	const file = incidentFiles(incidentDir(place.projectDir, id)).timeline;
	const common = {operator: options.operator, now: options.now ?? Date.now};
	if (place.mirrorOf) {
		// Already on tmpfs: there is nowhere further to fall back to.
		return Timeline.open(file, {...common, originalFile: incidentFiles(incidentDir(place.mirrorOf, id)).timeline});
	}
	const relativeDir = join(options.project, 'incidents', id);
	return Timeline.open(file, {
		...common,
		fallbackDir: async () => {
			// A timeline that fell back earlier is found by Timeline.open via a string; see openIn.
			const root = await tmpfsFallbackDir(env);
			return root ? join(root, relativeDir) : null;
		},
	});
}

/** The tmpfs directory an earlier process moved this incident's timeline to, if any. */
async function earlierTimelineFallback(place: Place, id: string, project: string, env: NodeJS.ProcessEnv): Promise<string | null> {
	if (place.mirrorOf) return null;
	for (const root of fallbackCandidates(env)) {
		const dir = incidentDir(join(root, project), id);
		if (resolve(dir) === resolve(incidentDir(place.projectDir, id))) continue;
		if (await isDirectory(dir)) return dir;
	}
	return null;
}

async function tryResume(place: Place, options: OpenIncidentOptions, env: NodeJS.ProcessEnv): Promise<Incident | null> {
	const pointer = await readCurrent(place.projectDir);
	if (!pointer) return null;
	const dir = incidentDir(place.projectDir, pointer.incident);
	if (!(await isDirectory(dir))) return null;
	const earlier = await earlierTimelineFallback(place, pointer.incident, options.project, env);
	const timeline = earlier
		? await Timeline.open(incidentFiles(dir).timeline, {operator: options.operator, now: options.now ?? Date.now, fallbackDir: earlier})
		: await openTimeline(place, pointer.incident, options, env);
	const events = timeline.events();
	if (events.some(event => event.type === 'incident_closed')) return null;
	await timeline.append(null, 'incident_resumed', {operator: options.operator});
	const opened = events.find(event => event.type === 'incident_opened');
	return {
		id: pointer.incident,
		dir,
		projectDir: place.projectDir,
		openedAt: pointer.openedAt || opened?.time || '',
		timeline,
		resumed: true,
	};
}

async function createIncident(place: Place, options: OpenIncidentOptions, env: NodeJS.ProcessEnv): Promise<Incident> {
	const now = options.now ?? Date.now;
	await mkdir(join(place.projectDir, 'incidents'), {recursive: true, mode: 0o700});
	let id = '';
	let dir = '';
	let time = 0;
	for (let attempt = 0; ; attempt++) {
		time = now();
		id = newIncidentId(time);
		dir = incidentDir(place.projectDir, id);
		try {
			await mkdir(dir, {mode: 0o700});
			break;
		} catch (error) {
			if (errorCode(error) !== 'EEXIST' || attempt >= 10) throw error;
		}
	}
	const openedAt = new Date(time).toISOString();
	try {
		const files = incidentFiles(dir);
		await mkdir(files.evidence, {mode: 0o700});
		await mkdir(files.worker, {mode: 0o700});
		// The pointer first: a crash before incident_opened still leaves a resumable incident.
		await writeFileAtomic(currentFile(place.projectDir), `${JSON.stringify({incident: id, openedAt})}\n`);
	} catch (error) {
		// Ours and empty: do not leave a half-made incident behind (a full disk retries on tmpfs).
		await rm(dir, {recursive: true, force: true}).catch(() => {});
		throw error;
	}
	const timeline = await openTimeline(place, id, options, env);
	await timeline.append(null, 'incident_opened', {
		...options.context,
		project: options.project,
		projectDir: place.projectDir,
		operator: options.operator,
	});
	if (place.mirrorOf) {
		await timeline.append(null, 'timeline_fallback', {from: timeline.originalFile, to: timeline.file, reason: place.reason});
	}
	return {id, dir, projectDir: place.projectDir, openedAt, timeline, resumed: false};
}

async function openIn(place: Place, options: OpenIncidentOptions, env: NodeJS.ProcessEnv): Promise<Incident> {
	await mkdir(place.projectDir, {recursive: true, mode: 0o700});
	return withLock(place.projectDir, options.operator, async () => {
		const resumed = await tryResume(place, options, env);
		if (resumed) return resumed;
		if (!place.mirrorOf) {
			// Opened on tmpfs while the disk was full, and still open: carry on with it there.
			for (const root of fallbackCandidates(env)) {
				const projectDir = projectStateDir(root, options.project);
				if (resolve(projectDir) === resolve(place.projectDir) || !(await isDirectory(projectDir))) continue;
				const mirrored = await tryResume({projectDir, mirrorOf: place.projectDir, reason: null}, options, env);
				if (mirrored) return mirrored;
			}
		}
		return createIncident(place, options, env);
	});
}

/**
 * Opens the project's current incident, or resumes it when one is open (another operator's
 * session, or ours before the SSH connection dropped). Safe against two processes opening
 * at the same instant. When the state dir's disk is full the incident is opened in the
 * tmpfs fallback instead (incident.timeline.fellBack tells).
 */
export async function openIncident(options: OpenIncidentOptions): Promise<Incident> {
	const env = options.env ?? process.env;
	const primary = projectStateDir(options.stateDir, options.project);
	try {
		return await openIn({projectDir: primary, mirrorOf: null, reason: null}, options, env);
	} catch (error) {
		if (!isDiskFull(error)) throw error;
		const root = await tmpfsFallbackDir(env);
		const projectDir = root ? projectStateDir(root, options.project) : null;
		if (!projectDir || resolve(projectDir) === resolve(primary)) {
			throw new ConsoleError(
				`the disk holding ${options.stateDir} is full (${errorCode(error)}) and no tmpfs fallback is writable: free space, or set ROLLBACK_CONSOLE_FALLBACK_DIR or --state-dir`,
			);
		}
		return openIn({projectDir, mirrorOf: primary, reason: reasonFor(error)}, options, env);
	}
}

/** Records the end of the incident and clears the project's current pointer. */
export async function closeIncident(incident: Incident, {reason}: {reason: string}): Promise<void> {
	await incident.timeline.append(null, 'incident_closed', {reason});
	const clear = async () => {
		const pointer = await readCurrent(incident.projectDir);
		if (pointer?.incident !== incident.id) return;
		await unlink(currentFile(incident.projectDir)).catch(error => {
			if (errorCode(error) !== 'ENOENT') throw error;
		});
		await syncDir(incident.projectDir);
	};
	try {
		await withLock(incident.projectDir, currentOperator(), clear);
	} catch (error) {
		// No room even for an empty lock file: removing a pointer needs none, so do it anyway.
		if (!isDiskFull(error)) throw error;
		await clear();
	}
}

// ---------------------------------------------------------------------------------------
// The checklist, as the timeline says it stands.

export const STEP_STATUSES = ['not-started', 'in-progress', 'done', 'skipped', 'failed'] as const;

export type StepStatus = (typeof STEP_STATUSES)[number];

export interface StepState {
	status: StepStatus;
	reason: string | null;
	/** When the status was recorded; null while not started. */
	time: string | null;
}

const isStepStatus = (value: unknown): value is StepStatus => (STEP_STATUSES as readonly unknown[]).includes(value);

/** Each step's status from the `step_status` events: the latest (in file order) wins. */
export function stepStatuses(events: readonly TimelineEvent[]): Record<StepId, StepState> {
	const states = Object.fromEntries(STEP_IDS.map(id => [id, {status: 'not-started', reason: null, time: null}])) as Record<
		StepId,
		StepState
	>;
	for (const event of events) {
		if (event.type !== 'step_status' || !isStepId(event.step)) continue;
		const {status, reason} = event.data;
		if (!isStepStatus(status)) continue;
		states[event.step] = {status, reason: typeof reason === 'string' ? reason : null, time: event.time};
	}
	return states;
}

/** Appends the `step_status` event stepStatuses reads. */
export function recordStepStatus(
	timeline: Timeline,
	step: StepId,
	status: StepStatus,
	reason?: string,
): Promise<TimelineEvent> {
	return timeline.append(step, 'step_status', reason === undefined ? {status} : {status, reason});
}
