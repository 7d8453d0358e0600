// `rollback-console verify`: step 6 headless. The same run and the same timeline events as
// the console's step; progress on stderr, the verdict on stdout (or --json); Ctrl+C stops it
// with what was seen recorded.
import {locateProject} from '../engine/compose-project.js';
import {connect} from '../engine/connect.js';
import {isEvidenceEngine} from '../engine/types.js';
import {ConsoleError, exitCodes, type ExitCode} from '../errors.js';
import {parseDuration, formatMs} from '../incident/duration.js';
import {loadProject} from '../incident/status.js';
import {failures, type VerifyState} from '../incident/verify/run.js';
import {openProjectIncident} from '../console/open-incident.js';
import {currentOperator} from '../incident/operator.js';
import {resolveStateDir} from '../incident/state-dir.js';
import {verifyAndRecord, verifyOutside} from '../console/verify-model.js';
import type {GlobalOptions} from './global-options.js';

const mark: Record<string, string> = {pass: 'ok  ', fail: 'FAIL', skipped: 'skip', waiting: '... ', running: '... '};

/** Parses --window; one clear line when it is not a duration. */
export function windowOption(value: string | undefined): number | null {
	if (value === undefined) return null;
	const ms = parseDuration(value);
	if (ms === null || ms < 1000 || ms > 24 * 3_600_000) throw new ConsoleError(`--window "${value}": expected a duration from 1s to 24h, such as 5m, 90s or 1m30s`);
	return ms;
}

export function verdictText(state: VerifyState, readOnly = false): string {
	const lines = state.checks.map(c => `${mark[c.status] ?? c.status} ${c.title}${c.status === 'fail' ? `: ${c.reason ?? ''}` : c.detail ? ` (${c.detail})` : ''}`);
	const reasons = failures(state);
	lines.push('');
	if (state.verified && readOnly) lines.push(`verified: ${state.tag ?? 'the release'} passed every check (--read-only: nothing recorded)`);
	else if (state.verified && state.recorded) lines.push(`verified: ${state.recorded} is recorded as verified, the next rollback's last known good`);
	else if (state.verified) lines.push('verified, but not recorded: the release services\' images have no digests to name the release by');
	else if (state.interrupted) lines.push(`stopped: not verified (what was seen so far is in the incident's timeline)`);
	else lines.push(`not verified: ${reasons.length} ${reasons.length === 1 ? 'check' : 'checks'} failed; nothing was changed`);
	return `${lines.join('\n')}\n`;
}

/** Runs verify for a project already located (also `rollback --verify`). */
export async function verifyCommand(options: GlobalOptions, writeJson?: (json: unknown) => void): Promise<ExitCode> {
	const windowMs = windowOption(options.window);
	const project = locateProject(options);
	const outside = connect();
	const [loaded, engine] = await Promise.all([loadProject(outside.compose, project), outside.engine]);
	if (!isEvidenceEngine(engine)) throw new ConsoleError(`the engine at ${engine.address} cannot read container logs`);
	// --read-only: the checks run and are reported; no incident is opened and nothing is recorded.
	const opened = options.readOnly ? null : await openProjectIncident(options, project, loaded.name);
	const stateDir = opened?.stateDir ?? (await resolveStateDir({flag: options.stateDir, env: process.env})).dir;
	const operator = opened?.operator ?? currentOperator();
	const incident = opened?.incident ?? null;
	const controller = new AbortController();
	const onInterrupt = () => {
		process.stderr.write('\nverify: stopping; recording what was seen so far\n');
		controller.abort();
	};
	process.once('SIGINT', onInterrupt);
	process.once('SIGTERM', onInterrupt);

	let lastPhase = '';
	let lastAt = 0;
	const seen = new Map<string, string>();
	const progress = (state: VerifyState) => {
		for (const c of state.checks) {
			// Finished checks once; a health URL's every failed try ("try 2 of 12: …; next in 10s").
			const line =
				c.status === 'pass' || c.status === 'fail'
					? `${mark[c.status]} ${c.title}${c.reason ? `: ${c.reason}` : ''}`
					: c.kind === 'health' && c.detail.startsWith('try ')
						? `${c.title}: ${c.detail}`
						: null;
			if (line && seen.get(c.id) !== line) {
				seen.set(c.id, line);
				process.stderr.write(`verify: ${line}\n`);
			}
		}
		// The phase (which check, "… 4m10s left of the 5m window") at most every 5 s.
		if (state.phase !== lastPhase && Date.now() - lastAt >= 5000 && !state.finished && !state.phase.startsWith('health ')) {
			lastPhase = state.phase;
			lastAt = Date.now();
			process.stderr.write(`verify: ${state.phase}\n`);
		}
	};
	const wait = options.wait !== false;
	if (!options.json) {
		const window = formatMs(windowMs ?? loaded.settings.verify.windowMs);
		process.stderr.write(`verify: ${loaded.name}: health ${loaded.settings.verify.health.tries}× ${formatMs(loaded.settings.verify.health.intervalMs)} apart, errors and restarts over ${window}${wait ? '' : ' (--no-wait: judged now)'}\n`);
	}
	let state: VerifyState;
	try {
		state = await verifyAndRecord(
			verifyOutside(engine),
			(step, type, data) => (incident ? incident.timeline.append(step, type, data) : Promise.resolve(null)),
			{loaded, stateDir, operator, incidentId: incident?.id ?? null, readOnly: options.readOnly, ...(windowMs === null ? {} : {windowMs}), wait, writtenExtension: () => outside.compose.rawExtension(project)},
			options.json ? () => {} : progress,
			controller.signal,
		);
	} finally {
		process.off('SIGINT', onInterrupt);
		process.off('SIGTERM', onInterrupt);
	}
	if (options.json) {
		const {services, ...rest} = state;
		const json = {...rest, services: services.map(s => ({service: s.service, state: s.state, health: s.health, ok: s.ok, crashLoop: s.crashLoop})), failures: failures(state), incident: incident?.id ?? null};
		if (writeJson) writeJson(json);
		else process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
	} else process.stdout.write(verdictText(state, options.readOnly));
	return state.verified ? exitCodes.ok : exitCodes.wanting;
}

export async function run(options: GlobalOptions, args: string[] = []): Promise<ExitCode> {
	if (args.length > 0) throw new ConsoleError(`verify: unexpected argument "${args[0]}"`);
	return verifyCommand(options);
}
