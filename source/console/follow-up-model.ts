// Step 7's wiring for the console: the report as it stands, the reminders, notify and
// create-issue, and the close — the same domain calls `report` and `close` make.
import os from 'node:os';
import type {ComposeProject} from '../engine/types.js';
import {isEvidenceEngine, type Engine} from '../engine/types.js';
import {buildReport} from '../incident/follow-up/build-report.js';
import {closePlan, closeRefusal, runClose, unfinishedSteps} from '../incident/follow-up/close.js';
import {createFollowUpIssue, notify} from '../incident/follow-up/notify.js';
import type {Incident} from '../incident/incident-store.js';
import type {Operator} from '../incident/operator.js';
import type {Settings} from '../incident/settings.js';
import type {FollowUpModel} from '../ui/console-model.js';
import type {StabiliseModel} from '../ui/stabilise-model.js';
import {announce, type Announcement} from '../incident/follow-up/announce.js';

export function createFollowUpModel(options: {project: ComposeProject; name: string; engine: Engine; incident: Incident; operator: Operator; settings: Settings; stateProjectDir: string}): FollowUpModel {
	const {incident, settings, operator} = options;
	const inspectImage = isEvidenceEngine(options.engine) ? (reference: string) => (options.engine as unknown as {inspectImageRaw(r: string): Promise<Record<string, unknown> | null>}).inspectImageRaw(reference) : null;
	const target = {id: incident.id, dir: incident.dir, projectDir: options.stateProjectDir, timeline: incident.timeline};
	const fields = (message: string | null) => ({project: options.name, incident: incident.id, host: os.hostname(), operator: {user: operator.user, ssh: operator.sshConnection}, message});
	return {
		notifyConfigured: Boolean(settings.notify?.webhook),
		issueConfigured: Boolean(settings.notify?.github),
		async report(signal) {
			await incident.timeline.refresh();
			return buildReport({
				incident: {id: incident.id, project: options.name},
				events: incident.timeline.events(),
				links: {inspectImage, github: settings.notify?.github ?? null, ...(signal ? {signal} : {})},
			});
		},
		plan: () => closePlan({incident: target, settings, project: options.name}),
		unfinished: events => unfinishedSteps(events),
		refusal: () => closeRefusal(target),
		async notify(message, record) {
			const sent = await notify(settings.notify, 'incident_update', fields(message), {record});
			return sent ? {ok: sent.ok, line: sent.line} : {ok: false, line: 'no webhook configured (x-rollback-console.notify.webhook)'};
		},
		async createIssue(markdown, record) {
			const issue = await createFollowUpIssue(settings.notify, {title: `Incident ${incident.id} on ${options.name}: follow-up`, body: markdown}, {record});
			return {ok: issue.ok, line: issue.line, url: issue.url};
		},
		close: (record, onLine) =>
			runClose({incident: target, project: options.name, host: os.hostname(), operator, settings, links: {inspectImage}, record, onNotice: onLine}, onLine),
	};
}

/**
 * The console's rollbacks announced like the command's: started when the worker is launched,
 * completed or failed when it ends (runs this console started; never twice). The model's
 * answers are passed on unchanged: a notification never gets in the rollback's way.
 */
export function announcingStabilise(stabilise: StabiliseModel, announcement: Omit<Announcement, 'timelineFile'> & {timelineFile: () => string}): StabiliseModel {
	const started = new Set<string>();
	const done = new Set<string>();
	const a = () => ({...announcement, timelineFile: announcement.timelineFile()});
	return {
		...stabilise,
		async start(plan) {
			const run = await stabilise.start(plan);
			if (run.kind === 'rollback') {
				started.add(run.runId);
				void announce(a(), 'rollback_started', {from: run.from, to: run.to}).catch(() => {});
			}
			return run;
		},
		async follow(runId, onProgress, signal) {
			const run = await stabilise.follow(runId, onProgress, signal);
			if (run?.result && started.has(runId) && !done.has(runId)) {
				done.add(runId);
				void announce(a(), run.result.success ? 'rollback_completed' : 'rollback_failed', {from: run.from, to: run.to, message: run.result.message}).catch(() => {});
			}
			return run;
		},
	};
}
