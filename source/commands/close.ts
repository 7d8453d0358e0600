import {hostname} from 'node:os';
import path from 'node:path';
import {ComposeCli} from '../engine/compose-cli.js';
import {locateProject} from '../engine/compose-project.js';
import {ConsoleError, exitCodes} from '../errors.js';
import {findIncident} from '../incident/evidence/find-incident.js';
import {closePlan, closeRefusal, runClose, unfinishedSteps} from '../incident/follow-up/close.js';
import {currentOperator} from '../incident/operator.js';
import {projectStateDir, resolveStateDir} from '../incident/state-dir.js';
import {loadProject} from '../incident/status.js';
import type {GlobalOptions} from './global-options.js';
import {imageInspector} from './report.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

async function confirm(question: string): Promise<boolean> {
	const readline = await import('node:readline/promises');
	const rl = readline.createInterface({input: process.stdin, output: process.stderr});
	try {
		return /^y(es)?$/i.test((await rl.question(question)).trim());
	} finally {
		rl.close();
	}
}

/** `rollback-console close [--yes]`: report, export, notify, end the incident. */
export async function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	if (args.length > 0) throw new ConsoleError(`close: unexpected argument "${args[0]}"`);
	if (options.readOnly) throw new ConsoleError('close: --read-only forbids ending the incident');
	const project = locateProject(options);
	const loaded = await loadProject(new ComposeCli(), project);
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const operator = currentOperator();
	const projectDir = projectStateDir(stateDir.dir, loaded.name);
	const found = await findIncident({stateDir: stateDir.dir, project: loaded.name, id: null, operator}).catch((error: unknown) => {
		if (error instanceof ConsoleError && /no open incident/.test(error.message)) throw new ConsoleError(`close: no open incident for ${loaded.name}: nothing to close`);
		throw error;
	});
	if (found.timeline.events().some(e => e.type === 'incident_closed')) throw new ConsoleError(`close: incident ${found.id} is already closed`);
	const target = {id: found.id, dir: found.dir, projectDir: path.dirname(path.dirname(found.dir)) || projectDir, timeline: found.timeline};
	const refusal = await closeRefusal(target);
	if (refusal) throw new ConsoleError(`close refused: ${refusal}`);

	const unfinished = unfinishedSteps(found.timeline.events());
	const plan = closePlan({incident: target, settings: loaded.settings, project: loaded.name});
	process.stdout.write(`Close incident ${found.id} on ${loaded.name}:\n${plan.map(a => `  - ${a.title}\n      ${a.does.join('\n      ')}`).join('\n')}\n`);
	if (unfinished.length > 0) process.stdout.write(`\nSteps not done:\n${unfinished.map(s => `  ! ${s}`).join('\n')}\n`);
	if (!options.yes) {
		if (!process.stdin.isTTY || !process.stdout.isTTY) throw new ConsoleError('close refused: no terminal to confirm on; pass --yes to close');
		const question = unfinished.length > 0 ? `${unfinished.length} ${unfinished.length === 1 ? 'step is' : 'steps are'} not done; close anyway? [y/N] ` : 'Close the incident? [y/N] ';
		if (!(await confirm(question))) {
			say('cancelled: the incident stays open');
			return exitCodes.wanting;
		}
	}

	const inspector = await imageInspector();
	const result = await runClose(
		{
			incident: target,
			project: loaded.name,
			host: hostname(),
			operator,
			settings: loaded.settings,
			links: {inspectImage: inspector},
			onNotice: say,
		},
		line => process.stdout.write(`${line}\n`),
	);
	if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
	if (!result.closed) return exitCodes.failedMidway;
	return exitCodes.ok;
}
