import {recordStatus, type Recorder} from './step-kit.js';
import type {TimelineEvent} from './timeline.js';

/**
 * The Scope step's rollback-or-hotfix guide, as the runbooks ask it. Pure: the console asks,
 * this decides, and the timeline keeps the answers and the decision.
 */

export const QUESTION_IDS = ['previous-stable', 'migration', 'security', 'quick-fix'] as const;

export type QuestionId = (typeof QUESTION_IDS)[number];

export type Answer = 'yes' | 'no' | 'unsure';

export type Answers = Partial<Record<QuestionId, Answer>>;

export type Decision = 'rollback' | 'hotfix';

export interface Question {
	id: QuestionId;
	text: string;
	/** Why it matters, in one line. */
	help: string;
	/** A few words for summaries: "migration since: yes". */
	short: string;
}

export const QUESTIONS: readonly Question[] = [
	{
		id: 'previous-stable',
		text: 'Was the previous version stable in production?',
		help: 'If it was not, there is no good release to go back to.',
		short: 'previous stable',
	},
	{
		id: 'migration',
		text: 'Has a database migration been applied since the previous version?',
		help: 'Rolling back the code does not roll back the schema.',
		short: 'migration since',
	},
	{
		id: 'security',
		text: 'Did this deploy introduce a security issue?',
		help: 'A vulnerability or a data leak leaves production first, then gets fixed.',
		short: 'security issue',
	},
	{
		id: 'quick-fix',
		text: 'Can it be hot-fixed and deployed in under 30 minutes?',
		help: 'Known cause, small change, a fast pipeline. Be honest about the hour.',
		short: 'fix < 30 min',
	},
];

export const isAnswer = (value: unknown): value is Answer => value === 'yes' || value === 'no' || value === 'unsure';

export const isQuestionId = (value: unknown): value is QuestionId => (QUESTION_IDS as readonly unknown[]).includes(value);

export const DECISION_TITLES: Readonly<Record<Decision, string>> = {rollback: 'ROLL BACK', hotfix: 'HOTFIX (roll forward)'};

export const NEXT_STEPS: Readonly<Record<Decision, string>> = {
	rollback: 'Next: 2 Capture evidence, then 3 Stabilise',
	hotfix: 'Next: 2 Capture evidence; ship the fix, then 6 Verify',
};

const migrationCheck = (answer: Answer | undefined) =>
	answer === 'yes'
		? 'A migration was applied since: step 4 Database checks it first.'
		: 'A migration may have run since: step 4 Database checks it first.';

/**
 * The runbooks' guide, first rule that applies wins: unsure about anything → roll back;
 * previous version not stable → hotfix; a security issue → roll back; a migration since →
 * roll back, the Database step checking it first; a fix in under 30 minutes → hotfix;
 * otherwise roll back. An unanswered question counts as unsure.
 */
/** The runbook's "when to roll back" as measured (source/incident/verify/criteria.ts): its verdict and figures. */
export interface Measured {
	suggests: 'rollback' | null;
	/** The criteria met, with their figures. */
	reasons: string[];
}

export function decide(answers: Answers, measured?: Measured | null): {decision: Decision; reasons: string[]} {
	const answer = (id: QuestionId): Answer => answers[id] ?? 'unsure';
	const unsure = QUESTIONS.filter(q => answer(q.id) === 'unsure');
	// Whenever the answer is a rollback and the schema may have moved, the Database step goes first.
	const withMigration = (reasons: string[]) =>
		answer('migration') === 'no' ? reasons : [...reasons, migrationCheck(answer('migration'))];

	// Checked before "when unsure": a rollback to a release the operator calls bad helps no one.
	if (answer('previous-stable') === 'no') {
		return {decision: 'hotfix', reasons: ['Previous version not stable: no good release to return to; roll forward.']};
	}
	// Measured, not only asked: health down past 5 minutes, or an error spike, means roll back.
	if (measured?.suggests === 'rollback') {
		return {decision: 'rollback', reasons: withMigration(measured.reasons.map(reason => `Measured: ${reason}.`))};
	}
	if (unsure.length > 0) {
		return {decision: 'rollback', reasons: withMigration([`When unsure, roll back (unsure: ${unsure.map(q => q.short).join(', ')}).`])};
	}
	if (answer('security') === 'yes') {
		return {decision: 'rollback', reasons: withMigration(['This deploy introduced a security issue: take it out of production now.'])};
	}
	if (answer('migration') === 'yes') {
		return {decision: 'rollback', reasons: withMigration(['Roll back to the previous version, which was stable.'])};
	}
	if (answer('quick-fix') === 'yes') {
		return {decision: 'hotfix', reasons: ['A fix can ship in under 30 minutes and nothing calls for a rollback.']};
	}
	return {decision: 'rollback', reasons: ['No fix within 30 minutes: roll back to the previous, stable version.']};
}

/** The scope_decision event's data, with the operator's override (if any) explained first. */
export function decisionData(
	answers: Answers,
	note: string,
	chosen: Decision,
	measured?: Measured | null,
): {decision: Decision; recommended: Decision; reasons: string[]; answers: Answers; note: string; overridden: boolean} {
	const {decision: recommended, reasons} = decide(answers, measured);
	const overridden = chosen !== recommended;
	return {
		decision: chosen,
		recommended,
		reasons: overridden ? [`Operator chose ${chosen === 'rollback' ? 'a rollback' : 'a hotfix'} over the recommended ${recommended === 'rollback' ? 'rollback' : 'hotfix'}.`, ...reasons] : reasons,
		answers,
		note,
		overridden,
	};
}

/**
 * Records the decision with what the operator was looking at (`seen`: the failing services,
 * the health probes), and the Scope step done: the step's domain, not its view, says so.
 */
export async function recordDecision(record: Recorder, answers: Answers, note: string, chosen: Decision, seen: Record<string, unknown>, measured?: Measured | null): Promise<void> {
	await record('scope', 'scope_decision', {...decisionData(answers, note, chosen, measured), ...seen});
	await recordStatus(record, 'scope', 'done');
}

export interface ScopeRecord {
	decision: Decision;
	reasons: string[];
	answers: Answers;
	note: string;
	overridden: boolean;
	/** When it was recorded (ISO 8601), and by whom. */
	time: string;
	user: string;
}

function parseAnswers(value: unknown): Answers {
	const answers: Answers = {};
	if (!value || typeof value !== 'object') return answers;
	for (const [id, answer] of Object.entries(value)) {
		if (isQuestionId(id) && isAnswer(answer)) answers[id] = answer;
	}
	return answers;
}

/** The latest recorded decision (in file order), or null when none was recorded. */
export function scopeRecord(events: readonly TimelineEvent[]): ScopeRecord | null {
	for (let i = events.length - 1; i >= 0; i--) {
		const event = events[i]!;
		if (event.type !== 'scope_decision') continue;
		const {decision, reasons, answers, note, overridden} = event.data;
		// A line some other writer got wrong is skipped, not trusted.
		if (decision !== 'rollback' && decision !== 'hotfix') continue;
		return {
			decision,
			reasons: Array.isArray(reasons) ? reasons.filter((r): r is string => typeof r === 'string') : [],
			answers: parseAnswers(answers),
			note: typeof note === 'string' ? note : '',
			overridden: overridden === true,
			time: event.time,
			user: event.operator?.user ?? '?',
		};
	}
	return null;
}

/**
 * Answers and note recorded since the last decision: what the operator had said before
 * the console closed (esc, an SSH drop), so the questions resume where they stopped.
 */
export function pendingScope(events: readonly TimelineEvent[]): {answers: Answers; note: string | null} {
	const answers: Answers = {};
	let note: string | null = null;
	for (const event of events) {
		if (event.type === 'scope_decision') {
			for (const id of QUESTION_IDS) delete answers[id];
			note = null;
		} else if (event.type === 'scope_answer' && isQuestionId(event.data['question']) && isAnswer(event.data['answer'])) {
			answers[event.data['question']] = event.data['answer'];
		} else if (event.type === 'scope_note' && typeof event.data['text'] === 'string') {
			note = event.data['text'];
		}
	}
	return {answers, note};
}

/** "previous stable: yes · migration since: no · …" for one-line summaries. */
export function answersSummary(answers: Answers): string {
	return QUESTIONS.filter(q => answers[q.id])
		.map(q => `${q.short}: ${answers[q.id]}`)
		.join(' · ');
}

/** What to add to the Compose file when no health URL is configured. */
export const HEALTH_SNIPPET: readonly string[] = [
	'x-rollback-console:',
	'  health:',
	'    - url: http://127.0.0.1:8080/health',
];

/** The same in one line, for a small terminal. */
export const HEALTH_SNIPPET_INLINE = 'x-rollback-console: {health: [{url: http://127.0.0.1:8080/health}]}';
