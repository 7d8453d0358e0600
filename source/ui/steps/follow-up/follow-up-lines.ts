// What the Follow up step draws, as lines for StepFrame: the reminders to tick, what the
// close will do, and the report itself. Pure.
import type {CloseResult} from '../../../incident/follow-up/close.js';
import type {ReminderState} from '../../../incident/follow-up/reminders.js';
import type {ReportFacts} from '../../../incident/follow-up/report.js';
import type {Line} from '../../kit/line.js';

export function reminderLines(reminders: readonly ReminderState[], cursor: number): Line[] {
	return [
		{key: 'rem-title', text: 'Reminders (space ticks; recorded)', bold: true},
		...reminders.map((r, i) => ({
			key: `rem-${r.id}`,
			text: `${i === cursor ? '›' : ' '} [${r.done ? 'x' : ' '}] ${r.text}${r.note ? ` — ${r.note}` : ''}`,
			tone: r.done ? ('good' as const) : r.id === 'ci' && r.note?.includes('failed') ? ('bad' as const) : undefined,
		})),
	];
}

export function summaryLines(facts: ReportFacts): Line[] {
	const lines: Line[] = [];
	const {from, to} = facts.release;
	lines.push({key: 'sum-release', text: from?.tag || to?.tag ? `Rolled back ${from?.tag ?? '?'} → ${to?.tag ?? '?'}: ${facts.release.outcome ?? ''}` : 'No rollback in this incident', bold: true});
	if (facts.links.to?.ci) lines.push({key: 'sum-ci', text: `CI of ${facts.links.to.tag}: ${facts.links.to.ci.state} (${facts.links.to.ci.detail})`, tone: facts.links.to.ci.state === 'passed' ? 'good' : facts.links.to.ci.state === 'failed' ? 'bad' : 'warn'});
	lines.push({key: 'sum-verify', text: `Verification: ${facts.verification.summary}`, tone: facts.verification.verified ? 'good' : 'warn', wrap: true});
	return lines;
}

export function closeLines(result: CloseResult | null, unfinished: readonly string[]): Line[] {
	if (result) {
		return [
			{key: 'closed-title', text: result.closed ? 'Incident closed' : 'Close stopped', bold: true, tone: result.closed ? 'good' : 'bad'},
			...result.lines.map((text, i) => ({key: `closed-${i}`, text, wrap: true, tone: /FAILED/.test(text) ? ('bad' as const) : undefined})),
		];
	}
	if (unfinished.length === 0) return [];
	return [{key: 'unfinished', text: `Not done yet: ${unfinished.join(', ')}`, tone: 'warn', wrap: true}];
}

/** The report's Markdown, one line each (the frame scrolls it). */
export function reportLines(markdown: string): Line[] {
	return [
		{key: 'report-title', text: 'report.md (as it stands; c writes it with the close)', bold: true},
		...markdown.split('\n').map((text, i) => ({key: `r${i}`, text, tone: text.startsWith('#') ? undefined : undefined, bold: text.startsWith('#')})),
	];
}
