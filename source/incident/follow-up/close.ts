// Step 7's end: write report.md, create the follow-up issue (when configured), export the
// incident bundle, announce the close, end the incident. The console and `close` run these
// same actions through the step kit, so both record the same timeline events.
import path from 'node:path';
import {ConsoleError} from '../../errors.js';
import {closeIncident, stepStatuses, type Incident} from '../incident-store.js';
import type {Operator} from '../operator.js';
import {latestRun} from '../stabilise/runs.js';
import {lockState} from '../project-lock.js';
import type {Settings} from '../settings.js';
import {confirmationFor, recordStatus, runAction, type Action, type Outcome, type Recorder} from '../step-kit.js';
import {STEP_IDS, STEP_TITLES, type Timeline, type TimelineEvent} from '../timeline.js';
import {buildReport, writeReport} from './build-report.js';
import {createFollowUpIssue, notify, type NotifyFields, type NotifyOptions} from './notify.js';
import type {LinkSources} from './release-links.js';

export interface CloseTarget {
	id: string;
	dir: string;
	/** `<state>/<project>`. */
	projectDir: string;
	timeline: Timeline;
}

export interface CloseContext {
	incident: CloseTarget;
	project: string;
	host: string;
	operator: Operator;
	settings: Settings;
	links: Omit<LinkSources, 'github'>;
	env?: NodeJS.ProcessEnv;
	/** Tests shorten retries. */
	notifyOptions?: Pick<NotifyOptions, 'retries' | 'maxRetryAfterMs'>;
	onNotice?: (text: string) => void;
	now?: () => number;
	/** Records through the caller (the console's, so it sees each event at once); the timeline's append otherwise. */
	record?: Recorder;
}

/** Why closing is refused now (a rollback worker still runs); null when it may go ahead. */
export async function closeRefusal(target: Pick<CloseTarget, 'dir' | 'projectDir'>): Promise<string | null> {
	const [run, lock] = await Promise.all([latestRun(target.projectDir, {incidentDir: target.dir}), lockState(target.projectDir)]);
	if (run?.running) return `a rollback worker (pid ${run.pid}) is still running ${run.runId}: wait for it (rollback-console history shows it), then close`;
	if (lock.state === 'held' && lock.holder.what.endsWith('(worker)')) return `a worker holds the project: ${lock.holder.what} (pid ${lock.holder.pid}); wait for it, then close`;
	return null;
}

/** The checklist's steps (before Follow up) that are not done or skipped. */
export function unfinishedSteps(events: readonly TimelineEvent[]): string[] {
	const statuses = stepStatuses(events);
	return STEP_IDS.filter(id => id !== 'follow-up' && statuses[id].status !== 'done' && statuses[id].status !== 'skipped').map(
		(id, _i) => `${STEP_IDS.indexOf(id) + 1}. ${STEP_TITLES[id]} (${statuses[id].status})`,
	);
}

export type CloseActionId = 'report' | 'issue' | 'export' | 'notify' | 'end';

export interface CloseAction extends Action {
	id: CloseActionId;
}

/** What closing will do, said before it is done. */
export function closePlan(ctx: Pick<CloseContext, 'incident' | 'settings' | 'project'>): CloseAction[] {
	const report = path.join(ctx.incident.dir, 'report.md');
	const github = ctx.settings.notify?.github;
	const webhook = ctx.settings.notify?.webhook;
	const actions: CloseAction[] = [
		{id: 'report', title: 'Write the incident record and postmortem draft', does: [`write ${report} (from the timeline and the evidence)`], touches: [report], deletes: [], destructive: false, confirmation: confirmationFor(false, 'report')},
	];
	if (github?.issue) {
		actions.push({
			id: 'issue',
			title: `Create the follow-up issue in ${github.repo}`,
			does: [`POST ${github.apiUrl.replace(/\/+$/, '')}/repos/${github.repo}/issues (token from $${github.tokenEnv}; the report as its body)`],
			touches: [],
			deletes: [],
			destructive: false,
			confirmation: confirmationFor(false, 'issue'),
		});
	}
	actions.push({
		id: 'export',
		title: 'Export the incident bundle (redacted)',
		does: [`write ${path.join(ctx.incident.dir, 'bundles', `incident-${ctx.project}-${ctx.incident.id}-<time>.tar.gz`)} and its .sha256`],
		touches: [path.join(ctx.incident.dir, 'bundles')],
		deletes: [],
		destructive: false,
		confirmation: confirmationFor(false, 'export'),
	});
	if (webhook) {
		actions.push({id: 'notify', title: 'Announce the close on the webhook', does: [`POST ${webhook.url.includes('$') ? webhook.url : new URL(webhook.url).origin + '/…'} (incident_closed)`], touches: [], deletes: [], destructive: false, confirmation: confirmationFor(false, 'notify')});
	}
	actions.push({id: 'end', title: 'End the incident', does: [`record incident_closed; remove ${path.join(ctx.incident.projectDir, 'current')}`], touches: [path.join(ctx.incident.projectDir, 'current')], deletes: [], destructive: false, confirmation: confirmationFor(false, 'end')});
	return actions;
}

export interface CloseResult {
	report: string | null;
	bundle: {file: string; sha256: string; sidecar: string} | null;
	issue: string | null;
	lines: string[];
	/** Actions that failed (the incident still ends; they are recorded). */
	failed: string[];
	closed: boolean;
}

export function notifyFields(ctx: Pick<CloseContext, 'incident' | 'project' | 'host' | 'operator'>, extra: Partial<NotifyFields> = {}): NotifyFields {
	return {project: ctx.project, incident: ctx.incident.id, host: ctx.host, operator: {user: ctx.operator.user, ssh: ctx.operator.sshConnection}, ...extra};
}

/**
 * Runs the close: each action recorded (action_start/action_result). A failed report or
 * export stops before the incident ends (nothing is lost; run close again); a failed issue
 * or notification is recorded and shown, and the close carries on.
 */
export async function runClose(ctx: CloseContext, onLine: (text: string) => void = () => {}): Promise<CloseResult> {
	const refusal = await closeRefusal(ctx.incident);
	if (refusal) throw new ConsoleError(`close refused: ${refusal}`);
	const record: Recorder = ctx.record ?? ((step, type, data) => ctx.incident.timeline.append(step, type, data));
	const env = ctx.env ?? process.env;
	const now = ctx.now ?? Date.now;
	const result: CloseResult = {report: null, bundle: null, issue: null, lines: [], failed: [], closed: false};
	const say = (text: string) => {
		result.lines.push(text);
		onLine(text);
	};
	let markdown = '';
	const run = async (action: CloseAction): Promise<Outcome> => {
		switch (action.id) {
			case 'report': {
				await ctx.incident.timeline.refresh();
				const built = await buildReport({
					incident: {id: ctx.incident.id, project: ctx.project},
					events: ctx.incident.timeline.events(),
					links: {...ctx.links, github: ctx.settings.notify?.github ?? null, env},
					now: new Date(now()).toISOString(),
					closing: true,
				});
				markdown = built.markdown;
				const written = await writeReport(ctx.incident.dir, ctx.incident.id, markdown);
				result.report = written.file;
				say(`report: ${written.file}`);
				return {ok: true, error: null, data: {file: written.file}};
			}
			case 'issue': {
				const issue = await createFollowUpIssue(ctx.settings.notify, {title: `Incident ${ctx.incident.id} on ${ctx.project}: follow-up`, body: markdown}, {env, record, ...ctx.notifyOptions});
				result.issue = issue.url;
				say(issue.line);
				return {ok: issue.ok, error: issue.error, data: {url: issue.url}};
			}
			case 'export': {
				const {exportIncident} = await import('../evidence/export.js');
				const exported = await exportIncident({
					incident: {id: ctx.incident.id, dir: ctx.incident.dir},
					project: ctx.project,
					timelineFile: ctx.incident.timeline.file,
					operator: ctx.operator,
					record,
					redact: true,
					extraPatterns: ctx.settings.redact?.patterns ?? [],
					...(ctx.onNotice ? {onNotice: ctx.onNotice} : {}),
					env,
				});
				result.bundle = {file: exported.bundle.file, sha256: exported.bundle.sha256, sidecar: exported.bundle.sidecar};
				say(`bundle: ${exported.bundle.file}`);
				say(`sha256: ${exported.bundle.sha256}  (${exported.bundle.sidecar})`);
				return {ok: true, error: null, data: {bundle: exported.bundle.file, sha256: exported.bundle.sha256}};
			}
			case 'notify': {
				const sent = await notify(ctx.settings.notify, 'incident_closed', notifyFields(ctx, {report: result.report, bundle: result.bundle?.file ?? null, sha256: result.bundle?.sha256 ?? null, issue: result.issue}), {env, record, ...ctx.notifyOptions});
				if (sent) say(sent.line);
				return {ok: sent?.ok ?? true, error: sent?.ok === false ? (sent.result?.error ?? 'failed') : null};
			}
			case 'end': {
				const incident: Incident = {id: ctx.incident.id, dir: ctx.incident.dir, projectDir: ctx.incident.projectDir, openedAt: '', timeline: ctx.incident.timeline, resumed: true};
				await recordStatus(record, 'follow-up', 'done', 'incident closed');
				await closeIncident(incident, {reason: 'closed by the operator'});
				result.closed = true;
				say(`incident ${ctx.incident.id} closed`);
				return {ok: true, error: null};
			}
		}
	};
	await recordStatus(record, 'follow-up', 'in-progress');
	for (const action of closePlan(ctx)) {
		const outcome = await runAction(record, 'follow-up', action, run);
		if (!outcome.ok) {
			result.failed.push(`${action.title}: ${outcome.error}`);
			if (action.id === 'report' || action.id === 'export' || action.id === 'end') {
				say(`${action.title} FAILED: ${outcome.error}; the incident stays open (run close again)`);
				return result;
			}
		}
	}
	return result;
}
