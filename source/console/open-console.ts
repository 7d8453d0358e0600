import {mkdir} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {locateProject} from '../engine/compose-project.js';
import {ComposeCli} from '../engine/compose-cli.js';
import {deferredEngine} from '../engine/deferred-engine.js';
import {DockerEngine} from '../engine/docker-engine.js';
import {engineAddress} from '../engine/known-errors.js';
import {connectStatusEngine} from '../engine/status-engine.js';
import {ConsoleError, isConsoleError} from '../errors.js';
import {isEvidenceEngine, type Engine} from '../engine/types.js';
import {writeFileAtomic} from '../incident/atomic-file.js';
import type {EvidenceSources} from '../incident/evidence/collectors.js';
import {acquireLock, holderFor, lockState, releaseLockSync} from '../incident/project-lock.js';
import {projectStateDir} from '../incident/state-dir.js';
import {followLogs} from '../incident/log-followers.js';
import {LogStore} from '../incident/log-store.js';
import {readOperatorSettings} from '../incident/operator-settings.js';
import {ServicesFeed} from '../incident/services-feed.js';
import {gatherStatus} from '../incident/status.js';
import {useColor} from '../presentation/format.js';
import type {ConsoleModel} from '../ui/console-model.js';
import type {GlobalOptions} from '../commands/global-options.js';
import {createStabiliseModel, lockReason, type ConsoleLock} from './stabilise-model.js';
import {createDiskModel} from './disk-model.js';
import {openProjectIncident} from './open-incident.js';
import {incidentGate, supersede} from './incident-gate.js';
import {announcingStabilise, createFollowUpModel} from './follow-up-model.js';
import {resolveStateDir} from '../incident/state-dir.js';
import {currentOperator} from '../incident/operator.js';
import {exitCodes} from '../errors.js';
import {createDatabaseModel} from './database-model.js';
import {createVerifyModel, verifyOutside} from './verify-model.js';
import {leanUiImports} from './lean-ui-imports.js';
import type {ServiceStatus} from '../incident/service-status.js';
import type {GateAnswer, IncidentGate} from '../ui/incident-gate.js';
import {trace} from '../trace.js';

/** Asks the operator the incident gate's question (the console passes a terminal prompt). */
export type AskGate = (project: string, gate: IncidentGate, services: readonly ServiceStatus[]) => Promise<GateAnswer>;

/** The operator quit at the gate: no incident was opened. */
class GateQuit extends Error {}

export interface OpenedConsole {
	model: ConsoleModel;
	/** Loads dockerode for the feeds and steps, when openConsole was asked to defer it. */
	startEngine(): void;
	/** Stops the feeds and followers. */
	close(): void;
}

/** Builds the console's model from the real engine and the state dir, and starts its feeds. */
export async function openConsole(options: GlobalOptions, {ask, deferEngine = false}: {ask?: AskGate; deferEngine?: boolean} = {}): Promise<OpenedConsole> {
	const project = locateProject(options);
	const reading = readOperatorSettings();
	// The first look goes over plain HTTP (the status engine). dockerode, for the feeds and the
	// steps, loads when started: at once, or after the terminal console's first frame (run).
	const docker = deferredEngine(engineAddress(process.env), () => DockerEngine.connect());
	if (!deferEngine) docker.start();
	const outside = {compose: new ComposeCli(), engine: docker.engine};
	const {loaded, status} = await gatherStatus({compose: outside.compose, engine: connectStatusEngine()}, project);
	trace('console: status gathered');
	const operatorSettings = await reading;
	const engine: Engine = outside.engine;
	// No incident on a healthy stack unless asked for; an incident left over a newer failure is pointed out.
	if (ask && !options.readOnly) {
		const stateDirFound = (await resolveStateDir({flag: options.stateDir, env: process.env})).dir;
		const gate = await incidentGate(stateDirFound, loaded.name, status.services);
		if (gate) {
			const answer = await ask(loaded.name, gate, status.services);
			if (answer === 'quit') throw new GateQuit();
			if (answer === 'new') await supersede(stateDirFound, loaded.name, gate, currentOperator());
		}
	}
	const {stateDir, operator, incident} = await openProjectIncident(options, project, loaded.name, {services: status.services, settings: loaded.settings});
	trace('console: incident open');

	// One operator at a time: this console holds the project's lock while it is open; when
	// someone else does (another console, a rollback worker), it opens read-only, naming them.
	const lockDir = projectStateDir(stateDir, loaded.name);
	const consoleLock: ConsoleLock = {held: null};
	let lockedOut: string | null = null;
	if (!options.readOnly) {
		try {
			consoleLock.held = (await acquireLock(lockDir, holderFor(operator, 'console'))).holder;
		} catch (error) {
			if (!isConsoleError(error)) throw error;
			lockedOut = lockReason(await lockState(lockDir)) ?? error.message;
		}
	}

	trace('console: lock taken');
	const controller = new AbortController();
	const feed = new ServicesFeed(engine, loaded);
	const logs = new LogStore(operatorSettings.logBufferLines);
	void feed.start(controller.signal, status.services).catch(() => {});
	void followLogs(engine, loaded.name, Object.keys(loaded.config.services), logs, {tail: operatorSettings.logTailLines}, controller.signal);

	// Loaded on first use, not before the first frame: ky, the collectors and node-tar.
	const probe = async (signal?: AbortSignal) =>
		(await import('../engine/http-probe.js')).probeHealth(loaded.settings.health, {env: process.env, ...(signal ? {signal} : {})});
	const evidence = async () => ({...(await import('../incident/evidence/collectors.js')), ...(await import('../incident/evidence/capture.js'))});

	// Evidence reads the engine's raw answers; DockerEngine gives them.
	const evidenceSources = (): EvidenceSources => {
		if (!isEvidenceEngine(engine)) throw new ConsoleError(`the engine at ${engine.address} cannot give raw evidence`);
		return {
			engine,
			compose: outside.compose,
			project,
			projectName: loaded.name,
			settings: loaded.settings,
			probeHealth: probe,
			timelineFile: () => incident.timeline.file,
			ciLog: null,
		};
	};

	const model: ConsoleModel = {
		project: {name: loaded.name, workingDir: project.workingDir},
		host: os.hostname(),
		engine: {version: status.engine.version, address: engine.address},
		incident: {id: incident.id, dir: incident.dir, openedAt: incident.openedAt, resumed: incident.resumed},
		readOnly: options.readOnly || lockedOut !== null,
		readOnlyReason: options.readOnly ? '--read-only' : lockedOut,
		settings: loaded.settings,
		services: feed,
		logs,
		timeline: incident.timeline,
		probeHealth: probe,
		planEvidence: async signal => (await evidence()).planEvidence(evidenceSources(), signal ? {signal} : {}),
		async captureEvidence({record, onNotice}, onProgress, signal) {
			const {planEvidence, captureEvidence} = await evidence();
			const plan = await planEvidence(evidenceSources(), signal ? {signal} : {});
			return captureEvidence(plan, {
				incident: {id: incident.id, dir: incident.dir},
				operator,
				record,
				redact: true,
				onProgress,
				...(onNotice ? {onNotice} : {}),
				...(signal ? {signal} : {}),
			});
		},
		async saveFile(name, text) {
			const file = path.resolve(incident.dir, name);
			if (!file.startsWith(`${incident.dir}${path.sep}`)) throw new ConsoleError(`refusing to write outside the incident: ${name}`);
			await mkdir(path.dirname(file), {recursive: true, mode: 0o700});
			await writeFileAtomic(file, text, {mode: 0o600});
			return file;
		},
	};

	model.disk = createDiskModel({project, stateDir, incident: {id: incident.id, dir: incident.dir}});
	if (isEvidenceEngine(engine)) {
		model.verify = createVerifyModel(verifyOutside(engine), {loaded, stateDir, operator, incidentId: incident.id, writtenExtension: () => outside.compose.rawExtension(project)});
	}
	model.database = createDatabaseModel({project, stateDir, readOnly: model.readOnly});
	model.followUp = createFollowUpModel({project, name: loaded.name, engine, incident, operator, settings: loaded.settings, stateProjectDir: lockDir});
	model.stabilise = createStabiliseModel({
		project,
		stateDir,
		projectDir: lockDir,
		operator,
		incidentDir: incident.dir,
		lock: consoleLock,
		onLock(held, reason) {
			model.readOnly = options.readOnly || !held;
			model.readOnlyReason = options.readOnly ? '--read-only' : reason;
		},
	});

	if (model.stabilise) {
		model.stabilise = announcingStabilise(model.stabilise, {settings: loaded.settings, project: loaded.name, incident: incident.id, operator, timelineFile: () => incident.timeline.file});
	}

	return {
		model,
		startEngine: docker.start,
		close: () => {
			controller.abort();
			// Synchronous: the process exits right after (a worker still running keeps its own lock).
			if (consoleLock.held) releaseLockSync(lockDir, consoleLock.held);
		},
	};
}

/** The interactive console: opens the model, hands it to the UI, closes it on the way out. */
export async function run(options: GlobalOptions): Promise<number> {
	trace('console: started');
	// The UI loads while the engine and compose answer.
	leanUiImports();
	const ui = import('../ui/run-console.js');
	const color = useColor(process.stdout, process.env, options.color);
	const ask: AskGate = async (name, gate, services) => (await import('../ui/run-gate.js')).askGate(name, gate, services, {color});
	let opened: OpenedConsole;
	try {
		opened = await openConsole(options, {ask, deferEngine: true});
	} catch (error) {
		if (error instanceof GateQuit) return exitCodes.ok;
		throw error;
	}
	let code: number | undefined;
	try {
		trace('console: model built');
		const {renderConsole} = await ui;
		trace('console: ui loaded');
		// Ink draws the first frame as it mounts, before renderConsole's first await: the
		// Engine's client loads after it, for the event stream and the log followers.
		const rendering = renderConsole(opened.model, {color: useColor(process.stdout, process.env, options.color)});
		trace('console: rendered');
		opened.startEngine();
		code = await rendering;
		return code;
	} finally {
		await recordSessionEnd(opened.model, code);
		opened.close();
	}
}

/** How the console session ended (q, Ctrl+C, a signal, an error), in the timeline; read-only records nothing. */
async function recordSessionEnd(model: ConsoleModel, exitCode: number | undefined): Promise<void> {
	if (model.readOnly) return;
	const end = model.sessionEnd ?? {by: exitCode === undefined ? 'error' : 'exit'};
	await model.timeline.append(null, 'console_closed', {...end, exitCode: exitCode ?? exitCodes.failedMidway}).catch(() => {});
}
