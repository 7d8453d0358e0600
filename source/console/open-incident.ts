import type {ComposeProject} from '../engine/types.js';
import {openIncident, type Incident} from '../incident/incident-store.js';
import {currentOperator, type Operator} from '../incident/operator.js';
import {resolveStateDir} from '../incident/state-dir.js';
import type {GlobalOptions} from '../commands/global-options.js';

/** The state dir, the operator, and the project's open incident (resumed, or a new one). */
export async function openProjectIncident(
	options: Pick<GlobalOptions, 'stateDir'>,
	project: ComposeProject,
	name: string,
): Promise<{stateDir: string; operator: Operator; incident: Incident}> {
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const operator = currentOperator();
	const incident = await openIncident({
		stateDir: stateDir.dir,
		project: name,
		operator,
		context: {workingDir: project.workingDir, files: project.files},
	});
	return {stateDir: stateDir.dir, operator, incident};
}
