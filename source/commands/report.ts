import {ComposeCli} from '../engine/compose-cli.js';
import {locateProject} from '../engine/compose-project.js';
import {isEvidenceEngine} from '../engine/types.js';
import {ConsoleError, exitCodes} from '../errors.js';
import {findIncident} from '../incident/evidence/find-incident.js';
import {buildReport, writeReport, writeReportCopy} from '../incident/follow-up/build-report.js';
import {listIncidents} from '../incident/follow-up/incidents.js';
import {currentOperator} from '../incident/operator.js';
import {projectStateDir, resolveStateDir} from '../incident/state-dir.js';
import {loadProject} from '../incident/status.js';
import type {GlobalOptions} from './global-options.js';

/** Reads image labels (the release's commit) when an engine answers; null otherwise: the report says "unknown". */
export async function imageInspector(): Promise<((reference: string) => Promise<Record<string, unknown> | null>) | null> {
	try {
		const {DockerEngine} = await import('../engine/docker-engine.js');
		const engine = await DockerEngine.connect();
		return isEvidenceEngine(engine) ? reference => engine.inspectImageRaw(reference) : null;
	} catch {
		return null;
	}
}

/** `rollback-console report [--out DIR] [--json]`: the open incident's record (or the newest closed one's). */
export async function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	if (args.length > 1) throw new ConsoleError(`report: unexpected argument "${args[1]}"`);
	const project = locateProject(options);
	const loaded = await loadProject(new ComposeCli(), project);
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const operator = currentOperator();
	let id = args[0] ?? null;
	if (id === null) {
		// No open incident: the newest one, closed.
		const open = await findIncident({stateDir: stateDir.dir, project: loaded.name, id: null, operator}).catch(() => null);
		id = open?.id ?? (await listIncidents(projectStateDir(stateDir.dir, loaded.name))).at(-1)?.id ?? null;
		if (!id) throw new ConsoleError(`report: no incident for ${loaded.name} in ${stateDir.dir}`);
	}
	const incident = await findIncident({stateDir: stateDir.dir, project: loaded.name, id, operator});
	const events = incident.timeline.events();
	const closed = events.some(e => e.type === 'incident_closed');
	const built = await buildReport({
		incident: {id: incident.id, project: loaded.name},
		events,
		links: {inspectImage: await imageInspector(), github: loaded.settings.notify?.github ?? null},
	});
	// A closed incident keeps the report it was closed with; --out still gets a fresh copy.
	const written = closed
		? {file: null, copy: options.out ? await writeReportCopy(options.out, incident.id, built.markdown) : null}
		: await writeReport(incident.dir, incident.id, built.markdown, options.out ?? null);
	if (!closed && written.file) await incident.timeline.append('follow-up', 'report_written', {file: written.file, copy: written.copy});
	if (options.json) {
		process.stdout.write(`${JSON.stringify({incident: incident.id, closed, file: written.file, copy: written.copy, report: built.facts}, null, 2)}\n`);
	} else {
		process.stdout.write(built.markdown);
		process.stderr.write(`${[written.file, written.copy].filter(Boolean).map(f => `written: ${f}`).join('\n') || 'closed incident: report.md left as it was closed; --out DIR writes a copy'}\n`);
	}
	return exitCodes.ok;
}
