import {mkdir} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {locateProject} from '../engine/compose-project.js';
import {connect} from '../engine/connect.js';
import {probeHealth} from '../engine/http-probe.js';
import {ConsoleError} from '../errors.js';
import {writeFileAtomic} from '../incident/atomic-file.js';
import {openIncident} from '../incident/incident-store.js';
import {followLogs} from '../incident/log-followers.js';
import {LogStore} from '../incident/log-store.js';
import {currentOperator} from '../incident/operator.js';
import {readOperatorSettings} from '../incident/operator-settings.js';
import {ServicesFeed} from '../incident/services-feed.js';
import {resolveStateDir} from '../incident/state-dir.js';
import {gatherStatus} from '../incident/status.js';
import {useColor} from '../presentation/format.js';
import type {ConsoleModel} from '../ui/console-model.js';
import type {GlobalOptions} from './global-options.js';

export interface OpenedConsole {
	model: ConsoleModel;
	/** Stops the feeds and followers. */
	close(): void;
}

/** Builds the console's model from the real engine and the state dir, and starts its feeds. */
export async function openConsole(options: GlobalOptions): Promise<OpenedConsole> {
	const project = locateProject(options);
	const reading = readOperatorSettings();
	const outside = connect();
	const {loaded, status} = await gatherStatus(outside, project);
	const operatorSettings = await reading;
	const engine = await outside.engine;
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const operator = currentOperator();
	const incident = await openIncident({
		stateDir: stateDir.dir,
		project: loaded.name,
		operator,
		context: {workingDir: project.workingDir, files: project.files},
	});

	const controller = new AbortController();
	const feed = new ServicesFeed(engine, loaded);
	const logs = new LogStore(operatorSettings.logBufferLines);
	void feed.start(controller.signal, status.services).catch(() => {});
	void followLogs(engine, loaded.name, Object.keys(loaded.config.services), logs, {tail: operatorSettings.logTailLines}, controller.signal);

	const model: ConsoleModel = {
		project: {name: loaded.name, workingDir: project.workingDir},
		host: os.hostname(),
		engine: {version: status.engine.version, address: engine.address},
		incident: {id: incident.id, dir: incident.dir, openedAt: incident.openedAt, resumed: incident.resumed},
		readOnly: options.readOnly,
		readOnlyReason: options.readOnly ? '--read-only' : null,
		settings: loaded.settings,
		services: feed,
		logs,
		timeline: incident.timeline,
		probeHealth: signal => probeHealth(loaded.settings.health, {env: process.env, ...(signal ? {signal} : {})}),
		async saveFile(name, text) {
			const file = path.resolve(incident.dir, name);
			if (!file.startsWith(`${incident.dir}${path.sep}`)) throw new ConsoleError(`refusing to write outside the incident: ${name}`);
			await mkdir(path.dirname(file), {recursive: true, mode: 0o700});
			await writeFileAtomic(file, text, {mode: 0o600});
			return file;
		},
	};

	return {model, close: () => controller.abort()};
}

/** The interactive console: opens the model, hands it to the UI, closes it on the way out. */
export async function run(options: GlobalOptions): Promise<number> {
	// The UI loads while the engine and compose answer.
	const ui = import('../ui/run-console.js');
	const opened = await openConsole(options);
	try {
		const {renderConsole} = await ui;
		return await renderConsole(opened.model, {color: useColor(process.stdout, process.env, options.color)});
	} finally {
		opened.close();
	}
}
