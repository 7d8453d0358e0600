import type {ReleaseRecord} from '../stabilise/releases.js';
import type {AppliedMigration} from './migration-tables.js';
import {shippedFile, type ShippedMigration} from './shipped-migrations.js';
import type {FlaggedStatement} from './sql-heuristic.js';

/**
 * Where the rollback target's schema ends in the applied migrations, by the best rule the
 * box offers, and whether what lies past it is additive. Pure: the inputs are gathered.
 */

export type BoundaryRule = 'recorded' | 'shipped' | 'times' | 'none';

export const ruleText: Record<BoundaryRule, string> = {
	recorded: 'releases.jsonl records the migration head of the target release',
	shipped: "the migrations shipped in the target release's image: applied ones it does not ship are past the boundary",
	times: 'a guess: the migrations applied after the target release was last replaced',
	none: 'no rule applies: no recorded head, no migrations directory in the target image, no times in the table',
};

export interface PastMigration extends AppliedMigration {
	/** The file in the bad (current) release's image, when found. */
	file: string | null;
	/** Not additive statements of its SQL (heuristic); null when its SQL was not readable. */
	flagged: FlaggedStatement[] | null;
}

export type Verdict = 'nothing-past' | 'additive' | 'destructive' | 'unknown';

export interface Boundary {
	rule: BoundaryRule;
	ruleText: string;
	/** The last migration the target release knows; null when none or unknown. */
	targetHead: string | null;
	past: PastMigration[];
	verdict: Verdict;
	notes: string[];
}

export interface BoundaryInput {
	applied: readonly AppliedMigration[];
	targetTag: string;
	records: readonly ReleaseRecord[];
	/** What the target release's image ships; null when no migrations directory was found in it. */
	targetShipped: readonly ShippedMigration[] | null;
	/** What the running (bad) release's image ships, for the SQL; null when not found. */
	currentShipped: readonly ShippedMigration[] | null;
	/** When the target release was last replaced (ISO), for rule (c); null when unknown. */
	targetReplacedAt: string | null;
}

/** The latest recorded head of the tag: a verified record's first, else any record's. */
export function recordedHead(records: readonly ReleaseRecord[], tag: string): ReleaseRecord | null {
	const mine = records.filter(r => r.tag === tag && r.migrationHead);
	return mine.findLast(r => r.event === 'verified') ?? mine.at(-1) ?? null;
}

/** When the target was last replaced: the first record of another tag after its last record. */
export function replacedAt(records: readonly ReleaseRecord[], tag: string): string | null {
	const last = records.findLastIndex(r => r.tag === tag);
	if (last < 0) return null;
	return records.slice(last + 1).find(r => r.tag !== tag && (r.event === 'deployed' || r.event === 'verified' || r.event === 'seen'))?.time ?? null;
}

export function findBoundary(input: BoundaryInput): Boundary {
	const notes: string[] = [];
	const {applied} = input;
	let rule: BoundaryRule = 'none';
	let past: AppliedMigration[] = [];
	let targetHead: string | null = null;

	const recorded = recordedHead(input.records, input.targetTag);
	if (recorded?.migrationHead) {
		const index = applied.findIndex(m => m.version === recorded.migrationHead);
		if (index >= 0) {
			rule = 'recorded';
			targetHead = recorded.migrationHead;
			past = applied.slice(index + 1);
		} else {
			notes.push(`releases.jsonl records ${input.targetTag}'s head as ${recorded.migrationHead}, which is not in the migrations table now (restored or rolled back since?): using the next rule`);
		}
	}
	if (rule === 'none' && input.targetShipped) {
		rule = 'shipped';
		const shipped = input.targetShipped;
		past = applied.filter(m => !shippedFile(shipped, m.version));
		targetHead = applied.filter(m => shippedFile(shipped, m.version)).at(-1)?.version ?? null;
		if (shipped.length === 0) notes.push(`the target image's migrations directory is empty`);
	}
	if (rule === 'none' && input.targetReplacedAt && applied.length > 0 && applied.every(m => m.appliedAt)) {
		rule = 'times';
		const cut = Date.parse(input.targetReplacedAt);
		past = applied.filter(m => Date.parse(m.appliedAt!) > cut);
		targetHead = applied.filter(m => Date.parse(m.appliedAt!) <= cut).at(-1)?.version ?? null;
	}

	const withSql: PastMigration[] = past.map(m => {
		const file = input.currentShipped ? shippedFile(input.currentShipped, m.version) : null;
		return {...m, file: file?.file ?? null, flagged: file?.sql === null || !file ? null : file.flagged};
	});
	let verdict: Verdict;
	if (rule === 'none') verdict = 'unknown';
	else if (withSql.length === 0) verdict = 'nothing-past';
	else if (withSql.some(m => m.flagged && m.flagged.length > 0)) verdict = 'destructive';
	else if (withSql.some(m => m.flagged === null)) verdict = 'unknown';
	else verdict = 'additive';
	if (withSql.some(m => m.flagged === null)) {
		notes.push(`the SQL of ${withSql.filter(m => m.flagged === null).map(m => m.version).join(', ')} was not readable in the current release's image: additive or not is unknown`);
	}
	return {rule, ruleText: ruleText[rule], targetHead, past: withSql, verdict, notes};
}

/** One line for the Stabilise plan's warning and the summaries. */
export function verdictLine(boundary: Boundary, targetTag: string): string {
	const n = boundary.past.length;
	const list = boundary.past.map(m => m.version).join(', ');
	switch (boundary.verdict) {
		case 'nothing-past':
			return `no migration since ${targetTag}: its schema is the one running`;
		case 'additive':
			return `${n} migration${n === 1 ? '' : 's'} since ${targetTag} (${list}), additive (heuristic): ${targetTag} can run on this schema`;
		case 'destructive':
			return `${n} migration${n === 1 ? '' : 's'} since ${targetTag} (${list}), DESTRUCTIVE (heuristic): restore a backup or step down before rolling back`;
		default:
			return n > 0 ? `${n} migration${n === 1 ? '' : 's'} since ${targetTag} (${list}); additive or not is unknown: check the Database step` : `the migrations since ${targetTag} are unknown: check the Database step`;
	}
}

/**
 * The boundary as the timeline keeps it (`database_boundary` on step database), so the
 * Stabilise plan's migration warning says what this step found — additive or destructive,
 * with the flagged lines — instead of guessing from heads.
 */
export function boundaryEvent(boundary: Boundary, targetTag: string): Record<string, unknown> {
	return {
		target: targetTag,
		verdict: boundary.verdict,
		rule: boundary.rule,
		targetHead: boundary.targetHead,
		past: boundary.past.map(m => m.version),
		flagged: boundary.past.flatMap(m => (m.flagged ?? []).map(f => ({version: m.version, file: m.file, ...f}))),
		line: verdictLine(boundary, targetTag),
	};
}
