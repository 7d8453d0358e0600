import {locateProject} from '../engine/compose-project.js';
import {ComposeCli} from '../engine/compose-cli.js';
import {connectStatusEngine} from '../engine/status-engine.js';
import {ConsoleError, exitCodes, type ExitCode} from '../errors.js';
import type {ProjectStatus} from '../incident/service-status.js';
import {gatherStatus} from '../incident/status.js';
import {formatDuration, formatTable, shortId, stateTone, useColor, type Tone} from '../presentation/format.js';
import type {GlobalOptions} from './global-options.js';

export function renderStatus(status: ProjectStatus, color: boolean): string {
	const header = ['SERVICE', 'STATE', 'HEALTH', 'RESTARTS', 'EXIT', 'UPTIME', 'TAG', 'IMAGE', 'CONTAINERS'];
	const tones: Array<Array<Tone | undefined>> = [];
	const rows = status.services.map(s => {
		const tone = s.ok ? 'good' : stateTone(s.state, s.health);
		tones.push([undefined, tone, s.health === 'unhealthy' ? 'bad' : undefined, s.restartCount > 0 ? 'warn' : undefined]);
		return [
			s.service,
			s.state,
			s.health,
			String(s.restartCount),
			s.exitCode === null ? '-' : String(s.exitCode),
			formatDuration(s.uptimeSeconds),
			s.image.tag ?? '-',
			shortId(s.image.id),
			s.containers.map(c => c.name).join(',') || '-',
		];
	});
	const failing = status.services.filter(s => !s.ok).length;
	const summary = status.ok
		? `${status.project}: all ${status.services.length} services running and healthy`
		: `${status.project}: ${failing} of ${status.services.length} services not running or not healthy`;
	return `${formatTable(header, rows, {color, tones})}\n\n${summary}\n`;
}

export async function run(options: GlobalOptions, args: string[] = []): Promise<ExitCode> {
	if (args.length > 0) throw new ConsoleError(`status: unexpected argument "${args[0]}"`);
	const project = locateProject(options);
	// Plain HTTP to a local engine: dockerode's loading alone costs more than `compose ps`.
	const {status} = await gatherStatus({compose: new ComposeCli(), engine: connectStatusEngine()}, project);
	process.stdout.write(
		options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status, useColor(process.stdout, process.env, options.color)),
	);
	return status.ok ? exitCodes.ok : exitCodes.wanting;
}
