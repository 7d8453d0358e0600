// Announcing an incident: a Slack-compatible webhook (`text`, plus every field at the top
// level for generic receivers) on open, rollback start, rollback end and close; optionally a
// GitHub issue with the report. A failure is recorded and returned, never thrown: notifying
// never blocks or fails a rollback. The token is sent in a header and written nowhere.
import {expandVariables} from '../../engine/health-probe-types.js';
import {createIssue, type IssueResult} from '../../engine/github.js';
import {postJson, safeUrl, type PostResult} from '../../engine/notify-http.js';
import type {Recorder} from '../step-kit.js';
import type {NotifySettings} from './notify-settings.js';

export const NOTIFY_EVENTS = ['incident_opened', 'rollback_started', 'rollback_completed', 'rollback_failed', 'incident_update', 'incident_closed'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export interface NotifyFields {
	project: string;
	incident: string;
	host: string;
	operator: {user: string; ssh: string | null};
	from?: string | null;
	to?: string | null;
	message?: string | null;
	/** Report, bundle, issue: where to read more. */
	report?: string | null;
	bundle?: string | null;
	sha256?: string | null;
	issue?: string | null;
}

const headline: Record<NotifyEvent, (f: NotifyFields) => string> = {
	incident_opened: f => `:rotating_light: Incident ${f.incident} opened on ${f.project} (${f.host}) by ${f.operator.user}`,
	rollback_started: f => `:rewind: ${f.project}: rolling back ${f.from ?? '?'} → ${f.to ?? '?'} (incident ${f.incident}, ${f.operator.user})`,
	rollback_completed: f => `:white_check_mark: ${f.project}: rolled back to ${f.to ?? '?'} (incident ${f.incident})`,
	rollback_failed: f => `:x: ${f.project}: rollback to ${f.to ?? '?'} FAILED${f.message ? `: ${f.message}` : ''} (incident ${f.incident})`,
	incident_update: f => `:information_source: Incident ${f.incident} on ${f.project}: ${f.message ?? 'update'} (${f.operator.user})`,
	incident_closed: f => `:memo: Incident ${f.incident} on ${f.project} closed by ${f.operator.user}${f.issue ? `; follow-up: ${f.issue}` : ''}`,
};

/** The webhook body: Slack reads `text`; any other receiver gets every field. */
export function webhookPayload(event: NotifyEvent, fields: NotifyFields, time: string): Record<string, unknown> {
	return {
		text: headline[event](fields),
		event,
		time,
		project: fields.project,
		incident: fields.incident,
		host: fields.host,
		operator: fields.operator.user,
		ssh: fields.operator.ssh,
		from: fields.from ?? null,
		to: fields.to ?? null,
		message: fields.message ?? null,
		report: fields.report ?? null,
		bundle: fields.bundle ?? null,
		sha256: fields.sha256 ?? null,
		issue: fields.issue ?? null,
	};
}

export interface NotifyOutcome {
	channel: 'webhook';
	event: NotifyEvent;
	ok: boolean;
	/** Null when nothing is configured. */
	result: PostResult | null;
	/** One line for the operator: "webhook: sent (1 attempt)" / "webhook: FAILED: …". */
	line: string;
}

export interface NotifyOptions {
	env?: NodeJS.ProcessEnv;
	record?: Recorder | null;
	now?: () => number;
	/** Tests shorten the waits. */
	retries?: number;
	maxRetryAfterMs?: number;
	signal?: AbortSignal;
}

/** Sends one event to the webhook (when configured) and records the outcome; never throws. */
export async function notify(settings: NotifySettings | null | undefined, event: NotifyEvent, fields: NotifyFields, options: NotifyOptions = {}): Promise<NotifyOutcome | null> {
	const hook = settings?.webhook;
	if (!hook) return null;
	const env = options.env ?? process.env;
	const url = expandVariables(hook.url, env);
	const time = new Date((options.now ?? Date.now)()).toISOString();
	let result: PostResult;
	if (!url || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
		result = {ok: false, status: null, body: null, attempts: 0, ms: 0, error: `notify.webhook.url is ${url ? 'not an http(s) URL' : 'empty'} once expanded${hook.url.includes('$') ? ` (${hook.url}: is the variable set?)` : ''}`};
	} else {
		result = await postJson(url, webhookPayload(event, fields, time), {
			timeoutMs: hook.timeoutMs,
			...(options.retries === undefined ? {} : {retries: options.retries}),
			...(options.maxRetryAfterMs === undefined ? {} : {maxRetryAfterMs: options.maxRetryAfterMs}),
			...(options.signal ? {signal: options.signal} : {}),
		});
	}
	const line = result.ok ? `webhook ${event}: sent (${result.attempts} ${result.attempts === 1 ? 'attempt' : 'attempts'})` : `webhook ${event}: FAILED: ${result.error}`;
	await options
		.record?.(null, 'notify_result', {
			channel: 'webhook',
			event,
			url: url ? safeUrl(url) : null,
			ok: result.ok,
			status: result.status,
			attempts: result.attempts,
			ms: result.ms,
			error: result.error,
		})
		?.catch(() => {});
	return {channel: 'webhook', event, ok: result.ok, result, line};
}

/** Creates the follow-up issue with the report as its body; its URL is recorded (`issue_created`). Never throws. */
export async function createFollowUpIssue(
	settings: NotifySettings | null | undefined,
	issue: {title: string; body: string},
	options: NotifyOptions = {},
): Promise<IssueResult & {line: string}> {
	const github = settings?.github;
	if (!github) {
		return {ok: false, url: null, number: null, attempts: 0, ms: 0, error: 'no GitHub repository configured (x-rollback-console.notify.github)', line: 'issue: not configured'};
	}
	const env = options.env ?? process.env;
	const token = env[github.tokenEnv] || null;
	const result = await createIssue(
		{
			apiUrl: expandVariables(github.apiUrl, env),
			repo: github.repo,
			token,
			timeoutMs: github.timeoutMs,
			...(options.retries === undefined ? {} : {retries: options.retries}),
			...(options.maxRetryAfterMs === undefined ? {} : {maxRetryAfterMs: options.maxRetryAfterMs}),
		},
		// GitHub refuses bodies over 65536 characters.
		{title: issue.title, body: issue.body.length > 65_000 ? `${issue.body.slice(0, 65_000)}\n\n…(cut; the full report is in the incident bundle)` : issue.body},
		options.signal,
	);
	const error = result.error && !token ? `${result.error} (${github.tokenEnv} is not set)` : result.error;
	await options
		.record?.('follow-up', result.ok ? 'issue_created' : 'issue_failed', {repo: github.repo, url: result.url, number: result.number, attempts: result.attempts, ms: result.ms, error})
		?.catch(() => {});
	return {...result, error, line: result.ok ? `issue: ${result.url}` : `issue: FAILED: ${error}`};
}
