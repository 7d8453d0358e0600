import {ComposeCli} from '../engine/compose-cli.js';
import {locateProject} from '../engine/compose-project.js';
import {ConsoleError, exitCodes} from '../errors.js';
import {checkOut} from '../incident/evidence/archive.js';
import {exportIncident, type ExportResult} from '../incident/evidence/export.js';
import {findIncident} from '../incident/evidence/find-incident.js';
import {currentOperator} from '../incident/operator.js';
import {countTotal} from '../incident/redaction.js';
import {resolveStateDir} from '../incident/state-dir.js';
import {loadProject} from '../incident/status.js';
import {formatBytes} from '../presentation/format.js';
import {formatCounts} from './capture.js';
import type {GlobalOptions} from './global-options.js';

export function exportSummary(result: ExportResult, redact: boolean): string {
	const redacted = result.files.filter(f => f.treatment === 'redacted on export').length;
	const lines = [
		`exported: ${result.files.length} files of the incident (${result.sources.join(', ')})`,
		redact
			? `redacted on export: ${redacted} files, ${countTotal(result.redactions)} values (${formatCounts(result.redactions)}); evidence captured with redaction went in as it was`
			: 'redacted: NOTHING (--no-redact): the bundle may hold secrets; do not hand it around',
	];
	if (result.fellBack) lines.push(`fell back: ${result.fellBack.reason}; the bundle is on tmpfs (lost on reboot)`);
	lines.push(`bundle: ${result.bundle.file} (${formatBytes(result.bundle.bytes)})`, `sha256: ${result.bundle.sha256}  (${result.bundle.sidecar})`);
	return `${lines.join('\n')}\n`;
}

/** `rollback-console export [INCIDENT]`: the whole incident as one bundle. Changes nothing on the box. */
export async function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	if (args.length > 1) throw new ConsoleError(`export: unexpected argument "${args[1]}"`);
	const project = locateProject(options);
	await checkOut(options.out);
	const loaded = await loadProject(new ComposeCli(), project);
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const operator = currentOperator();
	const incident = await findIncident({stateDir: stateDir.dir, project: loaded.name, id: args[0] ?? null, operator});
	const result = await exportIncident({
		incident: {id: incident.id, dir: incident.dir},
		project: loaded.name,
		timelineFile: incident.timeline.file,
		operator,
		record: (step, type, data) => incident.timeline.append(step, type, data),
		redact: options.redact,
		extraPatterns: loaded.settings.redact?.patterns ?? [],
		out: options.out,
		onNotice: text => process.stderr.write(`${text}\n`),
	});
	process.stdout.write(
		options.json
			? `${JSON.stringify({incident: incident.id, bundle: result.bundle, redact: options.redact, redactions: result.redactions, sources: result.sources, fellBack: result.fellBack, files: result.files.map(({path, bytes, sha256, treatment}) => ({path, bytes, sha256, treatment}))}, null, 2)}\n`
			: exportSummary(result, options.redact),
	);
	return exitCodes.ok;
}
