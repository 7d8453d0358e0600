// Before the console opens an incident: is one needed, and is the open one about this
// failure? A healthy stack with no incident open gets "no incident open" (n opens one); an
// incident left open over a newer failure is pointed out (n new incident, c continue).
import {closeIncident} from '../incident/incident-store.js';
import {findIncident} from '../incident/evidence/find-incident.js';
import {lookAtOpenIncident} from '../incident/follow-up/new-problem.js';
import {currentFailure} from '../incident/lifecycle.js';
import type {Operator} from '../incident/operator.js';
import type {ServiceStatus} from '../incident/service-status.js';
import {projectStateDir} from '../incident/state-dir.js';
import type {IncidentGate} from '../ui/incident-gate.js';

/** The question to ask before opening, or null: open (a failing stack) or resume (the open incident is about this failure). */
export async function incidentGate(stateDir: string, project: string, services: readonly ServiceStatus[]): Promise<IncidentGate | null> {
	const look = await lookAtOpenIncident(projectStateDir(stateDir, project), services);
	if (look) return look.notice ? {kind: 'new-problem', text: look.notice, openId: look.id, reason: look.reason} : null;
	if (currentFailure(services)) return null;
	return {kind: 'none', text: 'no incident open: every service runs', openId: null, reason: null};
}

/** "n" over an incident left open: it ends (recorded as superseded), so the next open starts a new one. */
export async function supersede(stateDir: string, project: string, gate: IncidentGate, operator: Operator): Promise<void> {
	if (gate.kind !== 'new-problem' || !gate.openId) return;
	const old = await findIncident({stateDir, project, id: gate.openId, operator});
	const projectDir = projectStateDir(stateDir, project);
	await old.timeline.append(null, 'new_problem_noticed', {reason: gate.reason, continued: false});
	await closeIncident(
		{id: old.id, dir: old.dir, projectDir, openedAt: '', timeline: old.timeline, resumed: true},
		{reason: `superseded: a new problem began after its last action (${gate.reason ?? 'new failure'}); rollback-console report ${old.id} writes its report`},
	);
}
