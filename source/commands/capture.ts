import {ciLogSource} from '../engine/ci-log.js';
import {ComposeCli, composeCommand} from '../engine/compose-cli.js';
import {cachedConfig} from '../engine/compose-config-cache.js';
import {composeProjectArgs, locateProject} from '../engine/compose-project.js';
import {connectCaptureEngine} from '../engine/evidence-http-engine.js';
import {ConsoleError, exitCodes} from '../errors.js';
import {checkOut} from '../incident/evidence/archive.js';
import {captureEvidence} from '../incident/evidence/capture.js';
import {planEvidence} from '../incident/evidence/collectors.js';
import {MANIFEST_FILE} from '../incident/evidence/manifest.js';
import type {CaptureProgress, CaptureResult, EvidencePlan} from '../incident/evidence/types.js';
import {beginStep, type Incident} from '../incident/incident-store.js';
import type {Operator} from '../incident/operator.js';
import {countTotal, type RedactionCounts} from '../incident/redaction.js';
import {loadProject} from '../incident/status.js';
import {formatBytes} from '../presentation/format.js';
import type {GlobalOptions} from './global-options.js';
import {openProjectIncident} from '../console/open-incident.js';
import {servicesNow} from '../incident/follow-up/new-problem.js';
import {trace} from '../trace.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

export function formatCounts(counts: RedactionCounts): string {
	const entries = Object.entries(counts).filter(([, n]) => (n ?? 0) > 0);
	return entries.length === 0 ? 'nothing' : entries.map(([rule, n]) => `${rule} ${n}`).join(', ');
}

/** One line per finished item, for stderr. */
export function progressLine(p: CaptureProgress): string | null {
	if (p.state === 'running') return null;
	const width = String(p.total).length;
	const counter = `[${String(p.finished).padStart(width)}/${p.total}]`;
	return p.state === 'done'
		? `${counter} ok      ${formatBytes(p.bytes).padStart(8)}  ${p.item.file}`
		: `${counter} FAILED  ${p.item.file}: ${p.error ?? 'unknown error'}`;
}

export function captureSummary(result: CaptureResult): string {
	const {manifest, bundle} = result;
	const lines = [
		`evidence: ${manifest.summary.ok} of ${manifest.summary.items} items captured${manifest.summary.failed ? `, ${manifest.summary.failed} failed` : ''}, ${formatBytes(manifest.summary.bytes)}`,
		manifest.redaction.enabled
			? `redacted: ${countTotal(manifest.redaction.counts)} values (${formatCounts(manifest.redaction.counts)})`
			: 'redacted: NOTHING (--no-redact): the bundle holds secrets; do not hand it around',
	];
	for (const item of manifest.items.filter(i => !i.ok)) lines.push(`  failed: ${item.what} (${item.file}): ${item.error}`);
	for (const item of manifest.items.filter(i => i.truncated)) lines.push(`  truncated: ${item.file}: ${item.note}`);
	if (result.fellBack) lines.push(`fell back: ${result.fellBack.reason}; everything is in ${result.fellBack.to} (tmpfs: lost on reboot)`);
	lines.push(`bundle: ${bundle.file} (${formatBytes(bundle.bytes)})`, `sha256: ${bundle.sha256}  (${bundle.sidecar})`, `files:  ${result.dir}/ (${MANIFEST_FILE} says how each was collected)`);
	return `${lines.join('\n')}\n`;
}

export function captureJson(result: CaptureResult): unknown {
	const {manifest, bundle} = result;
	return {
		captureId: result.captureId,
		complete: manifest.complete,
		bundle,
		dir: result.dir,
		manifest: `${result.dir}/${MANIFEST_FILE}`,
		fellBack: result.fellBack,
		redact: manifest.redaction.enabled,
		redactions: manifest.redaction.counts,
		summary: manifest.summary,
		items: manifest.items.map(i => ({id: i.id, file: i.file, ok: i.ok, error: i.error, bytes: i.bytes, truncated: i.truncated})),
	};
}

/** Aborts on SIGINT/SIGTERM (the capture then stops and stays marked incomplete). */
export function abortOnSignals(controller: AbortController): () => void {
	const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`interrupted by ${signal}`));
	process.once('SIGINT', onSignal);
	process.once('SIGTERM', onSignal);
	return () => {
		process.off('SIGINT', onSignal);
		process.off('SIGTERM', onSignal);
	};
}

/**
 * The capture itself, once the incident is open and the plan made: the step starts (as
 * opening it in the console does), the capture records its events and the step's status,
 * and the result goes to stdout.
 */
export async function captureHeadless(
	plan: EvidencePlan,
	{incident, operator, options, signal}: {incident: Incident; operator: Operator; options: Pick<GlobalOptions, 'redact' | 'out' | 'json'>; signal: AbortSignal},
): Promise<CaptureResult> {
	await beginStep(incident.timeline, 'evidence');
	say(
		`capturing ${plan.items.length} items from ${plan.containers} containers (about ${formatBytes(plan.estimateBytes)}${plan.estimateIncomplete ? ' or more' : ''})${options.redact ? '' : ' WITHOUT redaction (--no-redact)'}`,
	);
	const result = await captureEvidence(plan, {
		incident: {id: incident.id, dir: incident.dir},
		operator,
		record: (step, type, data) => incident.timeline.append(step, type, data),
		redact: options.redact,
		out: options.out,
		signal,
		onProgress: p => {
			const line = progressLine(p);
			if (line) say(line);
		},
		onNotice: text => say(text),
	});
	process.stdout.write(options.json ? `${JSON.stringify(captureJson(result), null, 2)}\n` : captureSummary(result));
	return result;
}

/** `rollback-console capture`: the evidence bundle. Needs no TTY: it changes nothing on the box. */
export async function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	if (args.length > 0) throw new ConsoleError(`capture: unexpected argument "${args[0]}"`);
	trace('modules loaded');
	const project = locateProject(options);
	const compose = new ComposeCli();
	const loading = loadProject(compose, project);
	const connecting = connectCaptureEngine();
	// A wrong --ci-log or --out fails before anything else happens.
	const ciLog = options.ciLog ? await ciLogSource(options.ciLog) : null;
	await checkOut(options.out);
	const [loaded, engine] = await Promise.all([loading, connecting]);
	trace('project loaded, engine connected');
	// The Engine's version (its error is the one said, if any) beside the one listing of the
	// project's containers that both the incident's look at the services and the plan use.
	const asking = engine.version();
	const listing = engine.projectContainers(loaded.name);
	listing.catch(() => {});
	await asking;
	const containers = await listing;
	trace('containers listed');
	const {operator, incident, notice, announced} = await openProjectIncident(options, project, loaded.name, {
		services: await servicesNow({projectContainers: async () => containers}, loaded),
		settings: loaded.settings,
	});
	trace('incident open');
	if (notice) say(notice);
	if (announced) say(announced);
	if (incident.timeline.fellBack) say(`the state dir's disk is full: the incident timeline is kept in ${incident.timeline.file} (tmpfs) for now`);

	const controller = new AbortController();
	const release = abortOnSignals(controller);
	try {
		const plan = await planEvidence(
			{
				engine,
				compose,
				// The config loadProject just asked for: from the cache, not a second compose run.
				composeConfig: signal =>
					cachedConfig(composeCommand(), project, process.env, () => compose.run([...composeProjectArgs(project), 'config', '--format', 'json'], {cwd: project.workingDir, signal})),
				project,
				projectName: loaded.name,
				settings: loaded.settings,
				// ky loads with the probe, while the logs are read, not before the capture starts.
				probeHealth: async signal => (await import('../engine/http-probe.js')).probeHealth(loaded.settings.health, {env: process.env, signal}),
				timelineFile: () => incident.timeline.file,
				ciLog,
			},
			{signal: controller.signal, containers},
		);
		trace('planned');
		await captureHeadless(plan, {incident, operator, options, signal: controller.signal});
		return exitCodes.ok;
	} finally {
		release();
	}
}
