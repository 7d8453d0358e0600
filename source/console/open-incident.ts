import type {ComposeProject} from '../engine/types.js';
import {openIncident, type Incident} from '../incident/incident-store.js';
import {currentOperator, type Operator} from '../incident/operator.js';
import {projectStateDir, resolveStateDir} from '../incident/state-dir.js';
import {lookAtOpenIncident} from '../incident/follow-up/new-problem.js';
import type {ServiceStatus} from '../incident/service-status.js';
import type {Settings} from '../incident/settings.js';
import {announce} from '../incident/follow-up/announce.js';
import type {GlobalOptions} from '../commands/global-options.js';

/** The state dir, the operator, and the project's open incident (resumed, or a new one). */
export async function openProjectIncident(
	options: Pick<GlobalOptions, 'stateDir'>,
	project: ComposeProject,
	name: string,
	{services, settings}: {services?: readonly ServiceStatus[]; settings?: Pick<Settings, 'notify'>} = {},
): Promise<{stateDir: string; operator: Operator; incident: Incident; notice: string | null; announced: string | null}> {
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const operator = currentOperator();
	// An incident left open over a new failure is continued (a command cannot ask), and said.
	const look = services ? await lookAtOpenIncident(projectStateDir(stateDir.dir, name), services) : null;
	const incident = await openIncident({
		stateDir: stateDir.dir,
		project: name,
		operator,
		context: {workingDir: project.workingDir, files: project.files},
	});
	let notice: string | null = null;
	if (look?.notice && incident.resumed && incident.id === look.id) {
		notice = `${look.notice} (continuing it; rollback-console close ends it)`;
		await incident.timeline.append(null, 'new_problem_noticed', {reason: look.reason, continued: true});
	}
	// A new incident is announced (when a webhook is configured); the line is said on stderr by the caller.
	const announced =
		!incident.resumed && settings?.notify?.webhook
			? await announce({settings, project: name, incident: incident.id, timelineFile: incident.timeline.file, operator}, 'incident_opened')
			: null;
	return {stateDir: stateDir.dir, operator, incident, notice, announced};
}
