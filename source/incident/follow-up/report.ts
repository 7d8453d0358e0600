// The incident record and postmortem draft (report.md). Pure: built from the timeline's
// events and what the evidence capture saw. A fact the timeline has is written out; one it
// does not have is said to be missing ("not recorded: …"), never left as a placeholder.
import {STEP_IDS, STEP_TITLES, type TimelineEvent} from '../timeline.js';
import {stepStatuses} from '../incident-store.js';
import type {CiStatus} from './ci-status.js';
import {REMINDERS, reminderStates, type ReminderState} from './reminders.js';

/** One container as the evidence capture saw it (from its inspect.json and log.txt). */
export interface CapturedContainer {
	name: string;
	service: string;
	state: string;
	exitCode: number | null;
	restartCount: number;
	oomKilled: boolean;
	createdAt: string | null;
	startedAt: string | null;
	finishedAt: string | null;
	/** Error lines of its log, most frequent first. */
	errors: ErrorLine[];
}

export interface ErrorLine {
	text: string;
	count: number;
	/** When it first appeared (the log's timestamp), if known. */
	first: string | null;
}

export interface CapturedFacts {
	captureId: string;
	time: string;
	containers: CapturedContainer[];
}

export interface ReleaseLink {
	tag: string;
	/** The commit the image says it was built from (org.opencontainers.image.revision). */
	revision: string | null;
	/** The release's page on GitHub, when a repository is configured. */
	url: string | null;
	ci: CiStatus | null;
}

export interface ReportInput {
	incident: {id: string; project: string};
	events: readonly TimelineEvent[];
	/** The capture closest to the failure (the last one before the rollback); null when none. */
	capture: CapturedFacts | null;
	links: {from: ReleaseLink | null; to: ReleaseLink | null};
	/** When the report is written (the close time when closing). */
	now: string;
	/** Written as the incident closes: `now` is when it closed. */
	closing?: boolean;
}

export interface Detection {
	service: string;
	container: string;
	line: string | null;
	at: string | null;
	how: string;
}

export interface ReportFacts {
	incident: string;
	project: string;
	openedAt: string | null;
	closedAt: string | null;
	durationSeconds: number | null;
	detection: Detection | null;
	release: {from: ReleaseSide | null; to: ReleaseSide | null; outcome: string | null};
	reason: {decision: string; note: string; reasons: string[]; overridden: boolean} | null;
	migration: string;
	operators: Array<{user: string; ssh: string | null}>;
	broke: Array<{service: string; container: string; state: string; exitCode: number | null; restarts: number; errors: ErrorLine[]}>;
	timeline: Array<{time: string; step: string; event: string; detail: string}>;
	verification: {verified: boolean | null; summary: string; checks: string[]};
	reminders: ReminderState[];
	steps: Array<{step: string; status: string; reason: string | null}>;
	links: {from: ReleaseLink | null; to: ReleaseLink | null};
}

export interface ReleaseSide {
	tag: string | null;
	digests: Record<string, string | null>;
}

const last = (events: readonly TimelineEvent[], type: string) => events.findLast(e => e.type === type) ?? null;
const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function releaseSides(events: readonly TimelineEvent[]): ReportFacts['release'] {
	const start = last(events, 'rollback_start');
	if (!start) return {from: null, to: null, outcome: null};
	const services = Array.isArray(start.data['services']) ? (start.data['services'] as Array<Record<string, unknown>>) : [];
	const side = (key: 'from' | 'to'): ReleaseSide => ({
		tag: str(start.data[key]),
		digests: Object.fromEntries(services.map(s => [String(s['service']), str((s[key] as Record<string, unknown> | undefined)?.['digest'])])),
	});
	const complete = events.findLast(e => e.type === 'rollback_complete' && e.data['runId'] === start.data['runId']);
	const outcome = complete
		? complete.data['success'] === true
			? `completed in ${(Number(complete.data['duration']) / 1000).toFixed(1)} s`
			: `FAILED: ${str(complete.data['message']) ?? 'no message'}`
		: 'started; no result recorded';
	return {from: side('from'), to: side('to'), outcome};
}

function migrationState(events: readonly TimelineEvent[]): string {
	const db = events.filter(e => e.step === 'database');
	if (db.some(e => /restore/.test(e.type) && (e.data['ok'] === true || e.type.endsWith('_complete')))) return 'restored from a backup (step 4)';
	if (db.some(e => /down/.test(e.type) && (e.data['ok'] === true || e.type.endsWith('_complete')))) return 'reverted one migration step (step 4)';
	const status = stepStatuses(events).database;
	if (status.status === 'done' || status.status === 'skipped') return `left in place (step 4 ${status.status}${status.reason ? `: ${status.reason}` : ''})`;
	return 'not checked: step 4 (Database) was not run in this incident';
}

function verification(events: readonly TimelineEvent[]): ReportFacts['verification'] {
	const done = last(events, 'verify_complete');
	const rollbackChecks = last(events, 'verify');
	const checks = Array.isArray(rollbackChecks?.data['checks'])
		? (rollbackChecks!.data['checks'] as Array<Record<string, unknown>>).map(
				c => `${String(c['service'])}: ${c['ok'] ? `ok (${Array.isArray(c['states']) ? c['states'].join(', ') : 'running'})` : String(c['problem'] ?? 'failed')}`,
			)
		: [];
	if (done) {
		const verified = done.data['verified'] === true;
		const summary = str(done.data['summary']) ?? str(done.data['message']) ?? (verified ? 'verified' : 'not verified');
		return {verified, summary: `${verified ? 'verified' : 'NOT verified'} at ${done.time}: ${summary}`, checks};
	}
	const status = stepStatuses(events).verify;
	if (status.status === 'done') return {verified: true, summary: `step 6 done at ${status.time}${status.reason ? `: ${status.reason}` : ''}`, checks};
	return {
		verified: null,
		summary: `not verified: step 6 (Verify) was not run${checks.length > 0 ? '; the rollback\'s own check after `up` is below' : ''}`,
		checks,
	};
}

function detection(capture: CapturedFacts | null, events: readonly TimelineEvent[]): Detection | null {
	const failing = (capture?.containers ?? []).filter(c => c.state !== 'running' || (c.exitCode ?? 0) !== 0 || c.restartCount > 0);
	const withLine = failing
		.map(c => ({c, first: c.errors.filter(e => e.first).sort((a, b) => a.first!.localeCompare(b.first!))[0] ?? c.errors[0] ?? null}))
		.sort((a, b) => (a.first?.first ?? a.c.finishedAt ?? '~').localeCompare(b.first?.first ?? b.c.finishedAt ?? '~'));
	const pick = withLine[0];
	if (pick) {
		return {
			service: pick.c.service,
			container: pick.c.name,
			line: pick.first?.text ?? null,
			at: pick.first?.first ?? pick.c.finishedAt ?? pick.c.startedAt,
			how: `evidence capture ${capture!.captureId}: ${pick.c.name} ${pick.c.state}, exit code ${pick.c.exitCode ?? '-'}, ${pick.c.restartCount} restarts`,
		};
	}
	const noticed = events.find(e => e.type === 'new_problem_noticed' || e.type === 'incident_opened');
	const failure = noticed?.data['failure'] as {services?: string[]; containers?: Array<{name: string; createdAt: string | null}>} | undefined;
	if (failure?.services?.length) {
		return {service: failure.services[0]!, container: failure.containers?.[0]?.name ?? '-', line: null, at: noticed!.time, how: 'failing when the incident was opened (no evidence capture holds its logs)'};
	}
	return null;
}

function operators(events: readonly TimelineEvent[]): ReportFacts['operators'] {
	const seen = new Map<string, {user: string; ssh: string | null}>();
	for (const e of events) seen.set(`${e.operator.user} ${e.operator.ssh ?? ''}`, {user: e.operator.user, ssh: e.operator.ssh});
	return [...seen.values()];
}

/** One line of detail per event, for the timeline table. */
export function eventDetail(e: TimelineEvent): string {
	const d = e.data;
	switch (e.type) {
		case 'step_status':
			return `${String(d['status'])}${d['reason'] ? `: ${String(d['reason'])}` : ''}`;
		case 'action_start':
			return String(d['title'] ?? d['action'] ?? '');
		case 'action_result':
			return `${String(d['action'])} ${d['ok'] ? 'ok' : `failed: ${String(d['error'])}`} (${String(d['ms'])} ms)`;
		case 'rollback_start':
		case 'deploy_start':
			return `${String(d['from'] ?? '?')} → ${String(d['to'])}`;
		case 'rollback_complete':
		case 'deploy_complete':
			return d['success'] ? `success in ${(Number(d['duration']) / 1000).toFixed(1)} s` : `FAILED: ${String(d['message'])}`;
		case 'command':
			return `${Array.isArray(d['argv']) ? (d['argv'] as string[]).slice(-4).join(' ') : ''}${d['exit'] === undefined ? '' : ` → exit ${String(d['exit'])}`}`;
		case 'evidence_capture_complete':
			return `${String(d['items'])} items → ${String(d['bundle'])}`;
		case 'scope_decision':
			return `${String(d['decision'])}${d['note'] ? `: ${String(d['note'])}` : ''}`;
		case 'incident_exported':
			return String(d['bundle'] ?? '');
		case 'notify_result':
			return `${String(d['channel'])} ${String(d['event'])}: ${d['ok'] ? 'sent' : `failed: ${String(d['error'])}`}`;
		case 'issue_created':
			return String(d['url'] ?? '');
		case 'reminder':
			return `${String(d['id'])}: ${d['done'] ? 'done' : 'not done'}`;
		case 'new_problem_noticed':
			return String(d['reason'] ?? '');
		default: {
			const text = str(d['message']) ?? str(d['reason']) ?? str(d['text']) ?? '';
			return text;
		}
	}
}

const mdCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').slice(0, 160);

/** What the report says, as data (report --json). */
export function reportFacts(input: ReportInput): ReportFacts {
	const {events} = input;
	const opened = last(events, 'incident_opened')?.time ?? events[0]?.time ?? null;
	const closed = last(events, 'incident_closed')?.time ?? (input.closing ? input.now : null);
	const end = closed ?? input.now;
	const decision = last(events, 'scope_decision');
	const statuses = stepStatuses(events);
	const broke = (input.capture?.containers ?? [])
		.filter(c => c.state !== 'running' || (c.exitCode ?? 0) !== 0 || c.restartCount > 0)
		.map(c => ({service: c.service, container: c.name, state: c.state, exitCode: c.exitCode, restarts: c.restartCount, errors: c.errors.slice(0, 5)}));
	return {
		incident: input.incident.id,
		project: input.incident.project,
		openedAt: opened,
		closedAt: closed,
		durationSeconds: opened ? Math.max(0, Math.round((Date.parse(end) - Date.parse(opened)) / 1000)) : null,
		detection: detection(input.capture, events),
		release: releaseSides(events),
		reason: decision
			? {
					decision: String(decision.data['decision']),
					note: String(decision.data['note'] ?? ''),
					reasons: Array.isArray(decision.data['reasons']) ? (decision.data['reasons'] as string[]) : [],
					overridden: decision.data['overridden'] === true,
				}
			: null,
		migration: migrationState(events),
		operators: operators(events),
		broke,
		timeline: events.map(e => ({time: e.time, step: e.step ?? '-', event: e.type, detail: eventDetail(e)})),
		verification: verification(events),
		reminders: reminderStates(events, input.links),
		steps: STEP_IDS.map(id => ({step: STEP_TITLES[id], status: statuses[id].status, reason: statuses[id].reason})),
		links: input.links,
	};
}

const duration = (seconds: number | null) => {
	if (seconds === null) return 'not recorded';
	const h = Math.floor(seconds / 3600);
	const m = Math.floor((seconds % 3600) / 60);
	const s = seconds % 60;
	return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
};

const shortDigest = (d: string | null) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : 'no digest recorded');

function sideText(side: ReleaseSide | null, link: ReleaseLink | null): string {
	if (!side?.tag) return 'not recorded';
	const digests = [...new Set(Object.values(side.digests))];
	const parts = [`\`${side.tag}\``, digests.length === 1 ? `digest ${shortDigest(digests[0]!)}` : Object.entries(side.digests).map(([s, d]) => `${s} ${shortDigest(d)}`).join(', ')];
	if (link?.revision) parts.push(`commit ${link.revision.slice(0, 12)}`);
	if (link?.url) parts.push(link.url);
	if (link?.ci) parts.push(`CI: ${link.ci.state}`);
	return parts.join(' · ');
}

/** The report as Markdown. */
export function renderReport(facts: ReportFacts): string {
	const out: string[] = [];
	const line = (text = '') => out.push(text);
	const {release} = facts;
	line(`# Incident ${facts.incident} — ${facts.project}`);
	line();
	line(`> Incident record and postmortem draft, written by rollback-console from the incident's timeline and evidence.`);
	line();
	line('## Record');
	line();
	line(`- **Opened:** ${facts.openedAt ?? 'not recorded'}`);
	line(`- **Closed:** ${facts.closedAt ?? 'still open when this was written'}`);
	line(`- **Duration:** ${duration(facts.durationSeconds)}`);
	const d = facts.detection;
	line(
		`- **Detection:** ${d ? `${d.service} (${d.container}) failed${d.at ? ` at ${d.at}` : ''}${d.line ? `; first error: \`${d.line}\`` : ''} — ${d.how}` : 'not recorded: no evidence capture and no failing service recorded'}`,
	);
	line(`- **Rolled back from:** ${sideText(release.from, facts.links.from)}`);
	line(`- **Rolled back to:** ${sideText(release.to, facts.links.to)}`);
	line(`- **Rollback:** ${release.outcome ?? 'no rollback in this incident'}`);
	line(
		`- **Reason:** ${facts.reason ? `${facts.reason.decision}${facts.reason.overridden ? ' (the operator overrode the guide)' : ''}${facts.reason.note ? ` — "${facts.reason.note}"` : ''}${facts.reason.reasons.length ? ` (${facts.reason.reasons.join('; ')})` : ''}` : 'not recorded: no Scope decision in the timeline'}`,
	);
	line(`- **Migration state:** ${facts.migration}`);
	line(`- **Who acted:** ${facts.operators.map(o => `${o.user}${o.ssh ? ` (SSH from ${o.ssh.split(' ')[0]})` : ' (local console)'}`).join(', ') || 'not recorded'}`);
	line(`- **Verification:** ${facts.verification.summary}`);
	line();
	line('## What broke');
	line();
	if (facts.broke.length === 0) line('Not recorded: no evidence capture saw a failing container.');
	for (const b of facts.broke) {
		line(`- **${b.service}** (${b.container}): ${b.state}, exit code ${b.exitCode ?? '-'}, ${b.restarts} restarts`);
		for (const e of b.errors) line(`  - ${e.count}× \`${e.text}\``);
		if (b.errors.length === 0) line('  - no error lines in its captured log');
	}
	line();
	line('## Verification');
	line();
	line(facts.verification.summary);
	for (const c of facts.verification.checks) line(`- ${c}`);
	line();
	line('## Checklist');
	line();
	for (const s of facts.steps) line(`- ${s.step}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
	line();
	line('## Reminders');
	line();
	for (const r of facts.reminders) line(`- [${r.done ? 'x' : ' '}] ${r.text}${r.note ? ` — ${r.note}` : ''}`);
	line();
	line('## Timeline');
	line();
	line('| time (UTC) | step | event | detail |');
	line('| --- | --- | --- | --- |');
	for (const row of facts.timeline) line(`| ${row.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} | ${row.step} | ${row.event} | ${mdCell(row.detail)} |`);
	line();
	line('## Postmortem (for people to fill)');
	line();
	for (const section of ['Impact', 'Root cause', 'What went well', 'What went wrong']) {
		line(`### ${section}`);
		line();
		line('_To be written._');
		line();
	}
	line('### Action items');
	line();
	line('| action | owner | due |');
	line('| --- | --- | --- |');
	line('| _to be written_ | | |');
	line();
	line('## CHANGELOG');
	line();
	line('```markdown');
	const day = (facts.closedAt ?? facts.openedAt ?? '').slice(0, 10);
	line(
		`- ${day}: ${release.from?.tag ?? 'the release'} was rolled back to ${release.to?.tag ?? '(no rollback recorded)'} on ${facts.project} (incident ${facts.incident})${d ? `: ${d.service} failed${d.line ? ` with "${d.line}"` : ''}` : ''}.`,
	);
	line('```');
	line();
	return out.join('\n');
}

/** Renders the report's steps and reminders for the reminder list of REMINDERS (kept for the UI). */
export {REMINDERS};
