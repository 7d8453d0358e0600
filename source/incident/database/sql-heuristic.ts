/**
 * Additive or destructive: a heuristic over a migration's SQL, statement by statement, with
 * the line each flagged statement starts on. It reads text, not a parse tree: it can miss
 * (dynamic SQL, a function body) and it says so wherever its verdict is shown.
 */

export interface FlaggedStatement {
	/** 1-based line of the file where the statement starts. */
	line: number;
	/** The statement, whitespace folded, cut to a readable length. */
	statement: string;
	/** Why it is not additive, in a few words. */
	rule: string;
}

const rules: Array<[RegExp, string]> = [
	[/^DROP\s+TABLE\b/i, 'DROP TABLE'],
	[/^ALTER\s+TABLE\b[\s\S]*\bDROP\s+(COLUMN\b|(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b|INDEX\b|IF\s+EXISTS\s+CONSTRAINT\b)[A-Za-z_"])/i, 'DROP COLUMN'],
	[/\bRENAME\b/i, 'RENAME'],
	[/^ALTER\s+TABLE\b[\s\S]*\b(SET\s+DATA\s+)?TYPE\b/i, 'ALTER … TYPE'],
	[/^ALTER\s+TABLE\b[\s\S]*\bMODIFY\b/i, 'ALTER … TYPE'],
	[/^TRUNCATE\b/i, 'TRUNCATE'],
	[/^DELETE\s+FROM\b/i, 'DELETE'],
	[/\bSET\s+NOT\s+NULL\b/i, 'SET NOT NULL'],
	[/^DROP\s+SCHEMA\b/i, 'DROP SCHEMA'],
];

// ADD COLUMN … NOT NULL without a DEFAULT fails on a table with rows, and the old code
// cannot insert without the column: not additive either.
const notNullWithoutDefault = (statement: string): boolean =>
	/^ALTER\s+TABLE\b[\s\S]*\bADD\b/i.test(statement) && /\bNOT\s+NULL\b/i.test(statement) && !/\bDEFAULT\b/i.test(statement) && !/\bSET\s+NOT\s+NULL\b/i.test(statement);

/** The statements of a SQL text, each with the line it starts on (comments and strings respected). */
export function splitStatements(sql: string): Array<{line: number; text: string}> {
	const out: Array<{line: number; text: string}> = [];
	let current = '';
	let startLine = 0;
	let line = 1;
	let i = 0;
	const push = () => {
		const text = current.trim();
		if (text) out.push({line: startLine, text});
		current = '';
		startLine = 0;
	};
	while (i < sql.length) {
		const ch = sql[i]!;
		const next = sql[i + 1];
		if (ch === '-' && next === '-') {
			const end = sql.indexOf('\n', i);
			i = end < 0 ? sql.length : end;
			continue;
		}
		if (ch === '/' && next === '*') {
			const end = sql.indexOf('*/', i + 2);
			const stop = end < 0 ? sql.length : end + 2;
			line += (sql.slice(i, stop).match(/\n/g) ?? []).length;
			i = stop;
			continue;
		}
		if (ch === "'" || ch === '"' || ch === '`') {
			let j = i + 1;
			while (j < sql.length && !(sql[j] === ch && sql[j + 1] !== ch)) j += sql[j] === ch ? 2 : 1;
			const piece = sql.slice(i, j + 1);
			if (!startLine) startLine = line;
			current += piece;
			line += (piece.match(/\n/g) ?? []).length;
			i = j + 1;
			continue;
		}
		if (ch === '$') {
			// PostgreSQL dollar quoting: $$ … $$ or $tag$ … $tag$ (a function body).
			const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
			if (tag) {
				const end = sql.indexOf(tag, i + tag.length);
				const stop = end < 0 ? sql.length : end + tag.length;
				const piece = sql.slice(i, stop);
				if (!startLine) startLine = line;
				current += piece;
				line += (piece.match(/\n/g) ?? []).length;
				i = stop;
				continue;
			}
		}
		if (ch === ';') {
			push();
			i++;
			continue;
		}
		if (ch === '\n') line++;
		else if (!startLine && ch.trim() !== '') startLine = line;
		current += ch;
		i++;
	}
	push();
	return out;
}

/** The statements that are not additive, each with its line and why. */
export function flagStatements(sql: string): FlaggedStatement[] {
	const flagged: FlaggedStatement[] = [];
	for (const {line, text} of splitStatements(sql)) {
		const folded = text.replace(/\s+/g, ' ');
		const rule = rules.find(([pattern]) => pattern.test(folded))?.[1] ?? (notNullWithoutDefault(folded) ? 'NOT NULL without a default' : null);
		if (rule) flagged.push({line, statement: folded.length > 160 ? `${folded.slice(0, 157)}…` : folded, rule});
	}
	return flagged;
}

/**
 * The part of a migration file that runs on the way up: dbmate's `-- migrate:up` section,
 * golang-migrate's `.up.sql` (a `.down.sql` has none). Line numbers stay the file's own.
 */
export function upSection(path: string, text: string): string | null {
	if (/\.down\.sql$/i.test(path)) return null;
	const up = /^--\s*migrate:up\b.*$/im.exec(text);
	if (!up) return text;
	const down = /^--\s*migrate:down\b.*$/im.exec(text.slice(up.index));
	const end = down ? up.index + down.index : text.length;
	// Blank out what is outside the section, keeping its newlines so lines still match the file.
	const blank = (s: string) => s.replace(/[^\n]/g, '');
	return blank(text.slice(0, up.index + up[0].length)) + text.slice(up.index + up[0].length, end) + blank(text.slice(end));
}
