import {mkdir, readFile, rm, stat, unlink} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {ConsoleError} from '../errors.js';
import {errorCode, isDiskFull, syncDir, writeFileAtomic} from './atomic-file.js';
import {createLockFile, processStartTime, readLockFile, removeIfSame, staleReason, type FileLockHolder} from './file-lock.js';
import {currentPointerText, incidentDir, incidentFiles, newIncidentId, parseCurrentPointer, projectFiles, type CurrentPointer} from './layout.js';
import {currentOperator, type Operator} from './operator.js';
import {fallbackCandidates, projectStateDir, tmpfsFallbackDir} from './state-dir.js';
import {isStepId, STEP_IDS, Timeline, type StepId, type TimelineEvent} from './timeline.js';
import {recordStatus, STEP_STATUSES, type StepStatus} from './step-kit.js';

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

// The layout's names, for the modules that took them from here.
export {incidentFiles, newIncidentId};

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

const currentFile = (projectDir: string) => projectFiles(projectDir).current;

async function readCurrent(projectDir: string): Promise<CurrentPointer | null> {
	let text: string;
	try {
		text = await readFile(currentFile(projectDir), 'utf8');
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return null;
		throw error;
	}
	// Unreadable pointer: no open incident; a new pointer replaces it atomically.
	return parseCurrentPointer(text);
}

async function isDirectory(path: string): Promise<boolean> {
	try {
		return (await stat(path)).isDirectory();
	} catch (error) {
		if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
		// Another user's (root made /run/rollback-console, the tmpfs fallback, 0700): not ours to resume.
		if (errorCode(error) === 'EACCES' || errorCode(error) === 'EPERM') return false;
		throw error;
	}
}

const reasonFor = (error: unknown) =>
	errorCode(error) === 'EDQUOT' ? 'disk quota exceeded (EDQUOT)' : 'no space left on device (ENOSPC)';

// ---------------------------------------------------------------------------------------
// current.lock: held only around read-decide-write of `current`, never during a step.

/** Older than this, the lock is someone's who stalled or crashed (it is held for milliseconds). */
const lockStaleMs = 30_000;
const lockGiveUpMs = 45_000;

function parseHolder(text: string): FileLockHolder | null {
	try {
		const value = JSON.parse(text) as Partial<FileLockHolder>;
		if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null;
		const processStart = typeof value.processStart === 'number' ? value.processStart : null;
		return {pid: value.pid, processStart, host: value.host, user: String(value.user ?? '?'), since: String(value.since ?? '?')};
	} catch {
		return null;
	}
}

/** Removes the lock when it is older than 30 s or its holder on this host is gone; true when it is gone. */
async function clearStaleLock(file: string): Promise<boolean> {
	const lock = await readLockFile(file);
	if (!lock) return true;
	const holder = parseHolder(lock.text);
	const dead = holder !== null && staleReason(holder) !== null;
	if (!dead && Date.now() - lock.mtimeMs <= lockStaleMs) return false;
	return removeIfSame(file, lock.ino);
}

async function acquireLock(file: string, operator: Operator): Promise<number> {
	const giveUpAt = Date.now() + lockGiveUpMs;
	for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
		const holder: FileLockHolder = {pid: process.pid, processStart: processStartTime(process.pid), host: operator.host, user: operator.user, since: new Date().toISOString()};
		// Who holds it is for messages only: on a full disk an empty lock still locks.
		const ino = await createLockFile(file, holder, {emptyWhenFull: true});
		if (ino !== null) return ino;
		if (await clearStaleLock(file)) continue;
		if (Date.now() > giveUpAt) {
			const lock = await readLockFile(file).catch(() => null);
			const held = lock ? parseHolder(lock.text) : null;
			const who = held ? `${held.user} (pid ${held.pid} on ${held.host}, since ${held.since})` : 'another process';
			throw new ConsoleError(`${file} is held by ${who}; if no rollback-console is running, remove it`);
		}
		await sleep(wait + Math.random() * wait);
	}
}

async function withLock<T>(projectDir: string, operator: Operator, task: () => Promise<T>): Promise<T> {
	const file = projectFiles(projectDir).currentLock;
	const ino = await acquireLock(file, operator);
	try {
		return await task();
	} finally {
		// Only our own lock: had we stalled past 30 s, it may be someone else's by now.
		await removeIfSame(file, ino).catch(() => {});
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
	const relativeDir = incidentDir(options.project, id);
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
	await mkdir(projectFiles(place.projectDir).incidents, {recursive: true, mode: 0o700});
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
		await writeFileAtomic(currentFile(place.projectDir), currentPointerText({incident: id, openedAt}));
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

export {STEP_STATUSES, type StepStatus} from './step-kit.js';

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

/** Appends the `step_status` event stepStatuses reads (step-kit's recordStatus, on a timeline). */
export function recordStepStatus(timeline: Timeline, step: StepId, status: StepStatus, reason?: string): Promise<TimelineEvent> {
	return recordStatus((s, type, data) => timeline.append(s, type, data), step, status, reason) as Promise<TimelineEvent>;
}

/**
 * Marks a step in progress when it has not started. Starting a step — opening it in the
 * console, or running its headless command — calls this, so both paths record the same
 * `step_status` sequence: in-progress once, then what the step's domain records at its end.
 */
export async function beginStep(
	timeline: {append: (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<unknown>; events: () => readonly TimelineEvent[]},
	step: StepId,
): Promise<boolean> {
	if (stepStatuses(timeline.events())[step].status !== 'not-started') return false;
	await timeline.append(step, 'step_status', {status: 'in-progress'});
	return true;
}
