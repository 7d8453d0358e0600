// Step 6 over the real engine: the outside world Verify reads (engine, logs, HTTP), shared
// by the console and `rollback-console verify`, and the console's model that keeps the run.
import {randomBytes} from 'node:crypto';
import type {Engine, EvidenceEngine} from '../engine/types.js';
import type {Operator} from '../incident/operator.js';
import {releasesFile} from '../incident/stabilise/releases.js';
import {projectStateDir} from '../incident/state-dir.js';
import type {LoadedProject} from '../incident/status.js';
import type {Recorder} from '../incident/step-kit.js';
import {verifyTargets} from '../incident/verify/health-urls.js';
import {restoreBlankedHeaders} from '../incident/verify/blanked-headers.js';
import {measureCriteria} from '../incident/verify/criteria.js';
import {lastBaseline, recordOutcome, recordStart} from '../incident/verify/record.js';
import {runVerify, type VerifyOutside, type VerifyState} from '../incident/verify/run.js';
import type {VerifyModel} from '../ui/steps/verify/verify-model.js';

/** The engine, each container's log, the health probe and HTTP: ky loads on first use. */
export function verifyOutside(engine: Engine & EvidenceEngine, env: NodeJS.ProcessEnv = process.env): VerifyOutside {
	return {
		engine,
		// Only the window's lines when the engine can say `since` (a long-lived container's log may be large).
		containerLog: (id, signal, sinceMs) =>
			sinceMs !== undefined && engine.containerLogSince ? engine.containerLogSince(id, sinceMs, signal) : engine.containerLog(id, signal),
		async probe(target, signal) {
			const {probeHealth} = await import('../engine/http-probe.js');
			const [probe] = await probeHealth([target], {env, signal});
			return probe!;
		},
		async http(request, signal) {
			const {httpRequest} = await import('../engine/http-check.js');
			return httpRequest(request, signal);
		},
		env,
	};
}

export const newRunId = () => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

export interface VerifyRunOptions {
	loaded: LoadedProject;
	stateDir: string;
	operator: Operator;
	incidentId: string | null;
	windowMs?: number;
	wait?: boolean;
	sampleMs?: number;
	migrationHead?: (() => Promise<string | null>) | null;
	/** `x-rollback-console` as written (no interpolation), to tell a header compose left blank. */
	writtenExtension?: () => Promise<unknown>;
	/** Read-only: the checks run and are shown; nothing is recorded (no timeline event, no release). */
	readOnly?: boolean;
}

/** One whole verification: start recorded, the checks, the outcome recorded (releases.jsonl on a pass). */
export async function verifyAndRecord(outside: VerifyOutside, record: Recorder, options: VerifyRunOptions, onState: (state: VerifyState) => void, signal: AbortSignal): Promise<VerifyState> {
	const file = releasesFile(projectStateDir(options.stateDir, options.loaded.name));
	// A header compose filled with a blank (its variable unset) gets its `${VAR}` back, to be named.
	const written = options.writtenExtension ? await options.writtenExtension().catch(() => null) : null;
	const loaded = written ? {...options.loaded, settings: restoreBlankedHeaders(structuredClone(options.loaded.settings), written)} : options.loaded;
	const baseline = await lastBaseline(file);
	let started: Promise<void> | null = null;
	const state = await runVerify(
		outside,
		{
			loaded,
			windowMs: options.windowMs ?? options.loaded.settings.verify.windowMs,
			wait: options.wait ?? true,
			baseline,
			runId: newRunId(),
			...(options.sampleMs ? {sampleMs: options.sampleMs} : {}),
		},
		s => {
			if (!options.readOnly) started ??= recordStart(record, s).catch(() => {});
			onState(s);
		},
		signal,
	);
	if (options.readOnly) return state;
	await started;
	const {recorded} = await recordOutcome(record, state, {
		releasesFile: file,
		operator: {user: options.operator.user, ssh: options.operator.sshConnection, pid: process.pid},
		incident: options.incidentId,
		// The Database step's reader: the head now, recorded with the verified release.
		migrationHead:
			options.migrationHead === undefined
				? async () => (await import('./database-model.js')).migrationHeadOf(options.loaded.project, state.releaseServices)
				: options.migrationHead,
	});
	state.recorded = recorded?.tag ?? null;
	return state;
}

export function createVerifyModel(outside: VerifyOutside, options: VerifyRunOptions): VerifyModel {
	const listeners = new Set<(state: VerifyState | null) => void>();
	let current: VerifyState | null = null;
	let controller: AbortController | null = null;
	const publish = (state: VerifyState | null) => {
		current = state;
		for (const listener of listeners) listener(state);
	};
	const settings = options.loaded.settings;
	return {
		current: () => current,
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		running: () => controller !== null,
		async start(record, runOptions = {}) {
			if (controller) return current;
			controller = new AbortController();
			try {
				const state = await verifyAndRecord(
					outside,
					record,
					{...options, ...(runOptions.wait === undefined ? {} : {wait: runOptions.wait}), ...(runOptions.readOnly ? {readOnly: true} : {})},
					publish,
					controller.signal,
				);
				publish(state);
				return state;
			} finally {
				controller = null;
				publish(current);
			}
		},
		stop() {
			controller?.abort();
		},
		async criteria(signal) {
			const baseline = await lastBaseline(releasesFile(projectStateDir(options.stateDir, options.loaded.name)));
			return measureCriteria(outside, options.loaded, {baseline, ...(signal ? {signal} : {})});
		},
		plan: {
			windowMs: options.windowMs ?? settings.verify.windowMs,
			tries: settings.verify.health.tries,
			intervalMs: settings.verify.health.intervalMs,
			checks: [
				'services',
				...verifyTargets(settings.health, options.loaded.config).map(t => `health ${t.url}`),
				...settings.smoke.map(e => (e.kind === 'flow' ? `flow ${e.name}` : `smoke ${e.check.name}`)),
			],
		},
	};
}
