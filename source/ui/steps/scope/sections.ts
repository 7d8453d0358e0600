// The Scope step's sections, as lines for StepFrame: the recorded decision, the failing
// services with the selected one's last log lines, the health URLs, and the questionnaire.
// Pure: each takes what it shows and the rows the layout gave it.
import {safeText} from '../../kit/safe-text.js';
import type {HealthProbe} from '../../../incident/health.js';
import {answersSummary, decide, DECISION_TITLES, HEALTH_SNIPPET, HEALTH_SNIPPET_INLINE, NEXT_STEPS, QUESTIONS, type Measured, type ScopeRecord} from '../../../incident/scope.js';
import type {ServiceStatus} from '../../../incident/service-status.js';
import type {ServicesSnapshot} from '../../../incident/services-feed.js';
import type {Line} from '../../kit/line.js';
import {maxReasonRows, type ScopeLayout} from './scope-layout.js';
import type {Asking} from './use-questionnaire.js';

const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

function cell(text: string, width: number): string {
	return text.length > width - 1 ? `${text.slice(0, width - 2)}… ` : text.padEnd(width);
}

/** The decision on record: who decided what and why, and what comes next. */
export function decisionLines(recorded: ScopeRecord, changing: boolean, readOnly: boolean, layout: ScopeLayout): Line[] {
	const state = changing ? ' · changing it below' : readOnly ? '' : ' · c: change';
	const lines: Line[] = [
		{
			key: 'decision',
			tone: 'warn',
			bold: true,
			text: `Decision: ${DECISION_TITLES[recorded.decision]} · recorded ${when(recorded.time)} by ${recorded.user}${recorded.overridden ? ' (overridden)' : ''}${state}`,
		},
	];
	if (changing) return lines;
	for (const [i, reason] of recorded.reasons.slice(0, layout.reasonRows).entries()) lines.push({key: `reason-${i}`, text: `  · ${reason}`});
	if (recorded.note) lines.push({key: 'note', text: `  Note: ${recorded.note}`});
	lines.push(
		{key: 'answers', tone: 'muted', text: `  ${answersSummary(recorded.answers) || 'no answers recorded'}`},
		{key: 'next', bold: true, text: `  ${NEXT_STEPS[recorded.decision]}`},
	);
	return lines;
}

function serviceLine(s: ServiceStatus, selected: boolean, rising: boolean): string {
	const state = s.state === 'missing' ? 'missing (no container)' : s.health === 'unhealthy' || s.health === 'starting' ? `${s.state} (${s.health})` : s.state;
	const oom = s.containers.some(c => c.oomKilled) ? ' · OOM-killed' : '';
	return `${selected ? '›' : ' '} ${cell(s.service, 16)}${cell(state, 24)}exit ${cell(s.exitCode === null ? '-' : String(s.exitCode), 5)}restarts ${s.restartCount}${rising ? ' ↑' : ''}${oom}`;
}

export interface LogView {
	lines: ReadonlyArray<{seq: number; text: string; marker?: boolean}>;
	/** Lines scrolled back from the newest. */
	offset: number;
	maxScroll: number;
}

/** The failing services (the selected one always among the rows shown) and its last log lines in a box. */
export function servicesLines(snapshot: ServicesSnapshot, failing: readonly ServiceStatus[], current: ServiceStatus | null, logs: LogView, layout: ScopeLayout, width: number): Line[] {
	const count = snapshot.services.length;
	const status =
		failing.length > 0 ? `${failing.length} of ${count}` : count > 0 ? `none: all ${count} running` : snapshot.mode === 'starting' ? 'reading the services…' : 'no services';
	const lines: Line[] = [
		{
			key: 'failing-title',
			bold: true,
			tone: failing.length > 0 || snapshot.error ? 'bad' : count > 0 ? 'good' : 'plain',
			text: `Failing services ${snapshot.error ? `engine: ${snapshot.error} ` : ''}${status}${failing.length > layout.serviceRows ? ' · tab: next' : ''}`,
		},
	];
	if (!current) return lines;
	const at = failing.indexOf(current);
	const first = Math.max(0, Math.min(at - layout.serviceRows + 1, failing.length - layout.serviceRows));
	for (const s of failing.slice(first, first + layout.serviceRows)) {
		lines.push({key: `svc-${s.service}`, tone: s === current ? 'bad' : 'plain', bold: s === current, text: serviceLine(s, s === current, snapshot.rising.has(s.service))});
	}
	if (layout.logBox === 'none') return lines;
	const all = logs.lines;
	const shown = all.slice(Math.max(0, all.length - layout.logRows - logs.offset), all.length - logs.offset);
	const from = all.length - logs.offset - shown.length + 1;
	lines.push({
		key: 'logs-caption',
		tone: 'muted',
		text:
			all.length === 0
				? `  no log lines from ${current.service} yet`
				: `  last lines of ${current.service}: ${from}–${from + shown.length - 1} of ${all.length}${logs.maxScroll > 0 ? ' · ↑↓ scroll' : ''}${failing.length > 1 ? ' · tab: next service' : ''}`,
	});
	// As tall as the lines it holds: an empty box says nothing the caption does not.
	if (shown.length === 0) return lines;
	const inner = Math.max(4, width - 2);
	const full = layout.logBox === 'full';
	if (full) lines.push({key: 'logs-top', tone: 'muted', text: `┌${'─'.repeat(inner)}┐`});
	for (const line of shown) {
		const text = safeText(line.text);
		lines.push({key: `log-${line.seq}`, ...(line.marker ? {tone: 'muted' as const} : {}), text: `│${text.length > inner ? text.slice(0, inner) : text.padEnd(inner)}│`});
	}
	if (full) lines.push({key: 'logs-bottom', tone: 'muted', text: `└${'─'.repeat(inner)}┘`});
	return lines;
}

function probeLine(probe: HealthProbe): Line & {tone: 'good' | 'bad'} {
	const status = probe.status === null ? '---' : String(probe.status);
	const error = probe.error ? `  ${probe.error}` : '';
	return {key: '', tone: probe.ok ? 'good' : 'bad', text: `${probe.ok ? '✓' : '✗'} ${status} ${String(probe.latencyMs).padStart(5)} ms${error}  ${probe.url}`};
}

/** The health URLs with their last probe, or how to configure one. */
export function healthLines(
	configured: ReadonlyArray<{url: string}>,
	health: {probes: HealthProbe[] | null; probing: boolean; error: string | null},
	layout: ScopeLayout,
	probeKey: string,
): Line[] {
	const {probes} = health;
	const ok = probes?.filter(p => p.ok).length ?? 0;
	let title = 'Health ';
	let tone: Line['tone'] = 'plain';
	if (configured.length === 0) [title, tone] = [`${title}no URL configured`, 'warn'];
	else if (health.probing) [title, tone] = [`${title}probing ${configured.length} URL${configured.length === 1 ? '' : 's'}…`, 'muted'];
	else {
		if (health.error) [title, tone] = [`${title}probe failed: ${health.error}`, 'bad'];
		else if (probes) [title, tone] = [`${title}${ok} of ${probes.length} ok`, ok === probes.length ? 'good' : 'bad'];
		title += `${configured.length > layout.healthRows ? ` · ${configured.length - layout.healthRows} not shown` : ''}${probes?.[0] ? ` · probed ${probes[0].time.slice(11, 19)} UTC` : ''} · ${probeKey}: probe again`;
	}
	const lines: Line[] = [{key: 'health-title', bold: true, tone, text: title}];
	if (configured.length === 0) {
		lines.push({key: 'snippet-intro', text: `  Say where to probe: add to the Compose file${layout.snippetFull ? ':' : ''}`});
		for (const line of layout.snippetFull ? HEALTH_SNIPPET : [HEALTH_SNIPPET_INLINE]) lines.push({key: `snippet-${line}`, tone: 'warn', text: `    ${line}`});
		return lines;
	}
	let rows: Line[] = probes ? probes.map(probeLine) : configured.map(target => ({key: '', tone: 'muted', text: `… ${target.url}`}));
	// When they do not all fit, the failing ones are the ones to see.
	if (rows.length > layout.healthRows) rows = [...rows.filter(l => l.tone === 'bad'), ...rows.filter(l => l.tone !== 'bad')];
	for (const [i, line] of rows.slice(0, layout.healthRows).entries()) lines.push({...line, key: `probe-${i}`, text: `  ${line.text}`});
	return lines;
}

/** Rows the questionnaire takes (the note's input line included: it goes in the frame's footer). */
export function interactionRows(asking: Asking | null, readOnly: boolean, recorded: ScopeRecord | null, measured?: Measured | null): number {
	if (!asking) return readOnly || !recorded ? 1 : 0;
	switch (asking.phase) {
		case 'question':
		case 'note':
			return 2;
		case 'decision':
			return 3 + Math.min(decide(asking.answers, measured).reasons.length, maxReasonRows);
		case 'saving':
			return 1;
	}
}

/** The question, the note's heading, or the recommendation (the note's input line is the footer). */
export function questionnaireLines(asking: Asking | null, readOnly: boolean, readOnlyReason: string | null, recorded: ScopeRecord | null, measured?: Measured | null): Line[] {
	if (!asking) {
		if (readOnly) return [{key: 'read-only', tone: 'warn', text: `read-only${readOnlyReason ? ` (${readOnlyReason})` : ''}: the decision cannot be recorded`}];
		return recorded ? [] : [{key: 'start', text: 'c: answer the rollback-or-hotfix questions'}];
	}
	switch (asking.phase) {
		case 'question': {
			const question = QUESTIONS[asking.index]!;
			return [
				{key: 'question', tone: 'warn', bold: true, text: `${asking.index + 1}/${QUESTIONS.length} ${question.text}`},
				{key: 'help', tone: 'muted', text: `    ${question.help}`},
			];
		}
		case 'note':
			return [{key: 'note-title', tone: 'warn', bold: true, text: 'Scope note (one line: what is broken, since when, who is affected)'}];
		case 'saving':
			return [{key: 'saving', text: 'recording the decision…'}];
		case 'decision': {
			const {decision, reasons} = decide(asking.answers, measured);
			return [
				{key: 'recommendation', tone: 'warn', bold: true, text: `Recommendation: ${DECISION_TITLES[decision]}  ${answersSummary(asking.answers)}`},
				...reasons.slice(0, maxReasonRows).map(reason => ({key: `why-${reason}`, text: `  · ${reason}`})),
				asking.note ? {key: 'note', text: `  Note: ${asking.note}`} : {key: 'note', tone: 'muted' as const, text: '  no note'},
				{key: 'next', bold: true, text: `  ${NEXT_STEPS[decision]}`},
			];
		}
	}
}

export function keyLine(asking: Asking | null, readOnly: boolean, recorded: ScopeRecord | null): string {
	// tab and ↑↓ are in the logs' caption; here the phase's keys, then the way out.
	const browse = 'esc: back  q: quit';
	if (!asking) return `${readOnly ? '' : recorded ? 'c: change  ' : 'c: answer  '}${browse}`;
	switch (asking.phase) {
		case 'question':
			return `y: yes  n: no  u: unsure  ${asking.index > 0 ? '⌫: previous  ' : ''}${browse}`;
		case 'note':
			return 'type the note  enter: done  esc: skip  (q is a letter here)';
		case 'decision':
			return `enter: accept  b: roll back  h: hotfix  ⌫: note  ${browse}`;
		case 'saving':
			return browse;
	}
}
