/**
 * Redaction of secrets in evidence: pure functions, no I/O. Values are replaced by `***`;
 * what was replaced is only ever counted (per rule), never kept.
 *
 * Free text (logs, health bodies, CI logs) gets the content rules; structured data (inspect
 * JSON, compose config) is walked so that environment variables and maps can be judged by
 * their names too.
 */

export const MASK = '***';

export const REDACTION_RULES = [
	'private-key',
	'url-credentials',
	'bearer',
	'authorization',
	'cookie',
	'aws-access-key',
	'secret-arg',
	'secret-env',
	'config-pattern',
] as const;

export type RedactionRule = (typeof REDACTION_RULES)[number];

/** How many values each rule replaced; rules that replaced nothing are left out. */
export type RedactionCounts = Partial<Record<RedactionRule, number>>;

export interface RedactOptions {
	/** Extra patterns (x-rollback-console.redact.patterns): every match is replaced. */
	extraPatterns?: ReadonlyArray<string | RegExp>;
}

export interface Redacted<T> {
	text: T;
	counts: RedactionCounts;
}

export function addCounts(into: RedactionCounts, from: RedactionCounts): RedactionCounts {
	for (const [rule, n] of Object.entries(from) as Array<[RedactionRule, number]>) {
		if (n > 0) into[rule] = (into[rule] ?? 0) + n;
	}
	return into;
}

export const countTotal = (counts: RedactionCounts): number => Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);

// ---------------------------------------------------------------- names

/** Words that make an environment variable (or a map key) secret, case-insensitive, anywhere in the name. */
const envWords = /password|passwd|pass|secret|token|key|credential|auth|private|dsn/i;
/** Docker's own fields that contain such a word and hold nothing secret. */
const harmlessKeys = new Set(['SandboxKey']);

/** Splits `DB_PASSWORD`, `api-key`, `apiToken`, `--client.secret` into lower-case words. */
function words(name: string): string[] {
	return name
		.replace(/^-+/, '')
		.replace(/([a-z0-9])([A-Z])/g, '$1_$2')
		.toLowerCase()
		.split(/[_.\-]+/)
		.filter(Boolean);
}

/** Broad: an environment variable or map key whose value is taken as secret (the list). */
export function isSecretEnvName(name: string): boolean {
	return envWords.test(name) && !harmlessKeys.has(name);
}

const strongWords = /password|passwd|secret|credential|passphrase/;
const lastWords = new Set(['pass', 'pwd', 'token', 'apikey', 'accesskey', 'secretkey', 'privatekey', 'dsn', 'auth']);

/**
 * Narrow, for `name=value` in free text, where ordinary lines must survive (`key_count=3`,
 * `monkey=1`): a strong word anywhere, or a name that ends in a secret word (`api_key`,
 * `auth_token`, `--token`); a bare `key` only with a qualifier before it.
 */
export function isSecretTextName(name: string): boolean {
	let known = nameCache.get(name);
	if (known === undefined) {
		known = judgeTextName(name);
		// Log lines repeat the same few names: remember them, within reason.
		if (nameCache.size > 10_000) nameCache.clear();
		nameCache.set(name, known);
	}
	return known;
}

const nameCache = new Map<string, boolean>();

function judgeTextName(name: string): boolean {
	if (harmlessKeys.has(name)) return false;
	const parts = words(name);
	const last = parts.at(-1);
	if (last === undefined) return false;
	if (strongWords.test(parts.join('_'))) return true;
	if (lastWords.has(last)) return true;
	return last === 'key' && parts.length >= 2;
}

// ---------------------------------------------------------------- text rules

type Counter = (rule: RedactionRule) => void;

const privateKey = /-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY( BLOCK)?-----(?:[\s\S]*?-----END \1PRIVATE KEY\2-----|[\s\S]*$)/g;
const privateKeyBegin = /-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY( BLOCK)?-----/;
const privateKeyEnd = /-----END ([A-Z0-9 ]*?)PRIVATE KEY( BLOCK)?-----/;

// scheme://user:password@ or scheme://token@ (userinfo up to the last @ before the host).
const urlCredentials = /\b([a-z][a-z0-9+.\-]*:\/\/)([^\s:@\/?#"'<>\\]*)(?::([^\s@\/?#"'<>\\]*))?@(?=[^\s@])/gi;
const bearer = /\b(bearer)(\s+)([A-Za-z0-9\-._~+\/]{8,}=*)/gi;
const authorization =
	/\b((?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)((?:basic|bearer|digest|token|negotiate|ntlm|apikey|aws4-hmac-sha256)\s+)?([^\s"',]+)/gi;
const cookie = /\b((?:set-)?cookie)(["']?\s*[:=]\s*["']?)([^\r\n"']+)/gi;
const awsAccessKey = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g;
// name=value, name: value, "name": "value", --name=value; the name is judged afterwards.
const keyValue = /(?<![\w.\-])(-{0,2}[A-Za-z_][\w.\-]*)(["']?[ \t]*[=:][ \t]*["']?)([^\s"'&,;]+)/g;
// --name value (a flag and its argument, as in a command line).
const flagValue = /(?<![\w.\-])(--[A-Za-z][\w.\-]*)([ \t]+)(?!-)([^\s"'&,;]+)/g;

const masked = (value: string) => value.startsWith(MASK);
// Each of these rules needs one of these words; every secret name (isSecretTextName) one of nameHints'.
const wordHints = /bearer|authorization|cookie|AKIA|ASIA/i;
// The rules whose match may run over a line's end (\s): a text of many lines gets them line by line.
const multiLineHints = /bearer|authorization|cookie/gi;
const nameHints = /pass|pwd|secret|token|key|credential|dsn|auth/gi;
// keyValue and flagValue tried at one place only (see replaceSecretNames).
const keyValueAt = new RegExp(keyValue.source, 'y');
const flagValueAt = new RegExp(flagValue.source, 'y');

function replaceUrlCredentials(text: string, count: Counter): string {
	return text.replace(urlCredentials, (match, scheme: string, user: string, password: string | undefined) => {
		if (password !== undefined) {
			if (password === '' || masked(password)) return match;
			count('url-credentials');
			return `${scheme}${user}:${MASK}@`;
		}
		// A user name alone (git@, postgres@) is kept; a token used as the user name is not.
		if (user.length < 16 || masked(user)) return match;
		count('url-credentials');
		return `${scheme}${MASK}@`;
	});
}

/** [\w.\-]: a character of a name (and the lookbehind of keyValue and flagValue). */
function isNameChar(c: number): boolean {
	return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45;
}

const isQuote = (c: number) => c === 0x22 || c === 0x27;
const isBlank = (c: number) => c === 0x20 || c === 0x09;

/** Where keyValue's value starts after a name ending at `at`: `["']?[ \t]*[=:][ \t]*["']?`, each part as long as it goes (the only way the pattern matches). */
function afterKeySeparator(text: string, at: number): number {
	let i = at;
	if (isQuote(text.charCodeAt(i))) i++;
	while (isBlank(text.charCodeAt(i))) i++;
	i++;
	while (isBlank(text.charCodeAt(i))) i++;
	return isQuote(text.charCodeAt(i)) ? i + 1 : i;
}

/** flagValue's: `[ \t]+`. */
function afterFlagSeparator(text: string, at: number): number {
	let i = at;
	while (isBlank(text.charCodeAt(i))) i++;
	return i;
}

/**
 * Replaces `name<sep>value` (`at`: keyValueAt or flagValueAt) where the name is secret, as
 * scanning the text with the pattern would (`url=https://x/?token=y` still finds `token=`),
 * but tried only where it can succeed: a secret name holds one of nameHints' words, and a
 * match starts where a run of name characters does (the lookbehind), its name the whole run.
 * So each run holding such a word is tried once, left to right, skipping what a replaced
 * value took; ordinary `name=value` pairs cost nothing. No part of a match crosses a line.
 * (test() and positions, not exec(): no match array and strings per line of a big log.)
 */
function replaceSecretNames(text: string, at: RegExp, valueStart: (text: string, nameEnd: number) => number, count: Counter): string {
	const parts: string[] = [];
	let from = 0;
	let lastRun = -1;
	nameHints.lastIndex = 0;
	while (nameHints.test(text)) {
		// The hint's last character: inside the run.
		let start = nameHints.lastIndex - 1;
		while (start > 0 && isNameChar(text.charCodeAt(start - 1))) start--;
		if (start === lastRun) continue;
		lastRun = start;
		at.lastIndex = start;
		if (!at.test(text)) continue;
		const end = at.lastIndex;
		let nameEnd = start;
		while (isNameChar(text.charCodeAt(nameEnd))) nameEnd++;
		const value = valueStart(text, nameEnd);
		if (!isSecretTextName(text.slice(start, nameEnd)) || text.startsWith(MASK, value)) continue;
		parts.push(text.slice(from, value), MASK);
		from = end;
		// A value is never looked into: the next name starts after it.
		nameHints.lastIndex = end;
		count('secret-arg');
	}
	if (from === 0) return text;
	parts.push(text.slice(from));
	return parts.join('');
}

function compile(pattern: string | RegExp): RegExp {
	if (typeof pattern !== 'string') return pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
	return new RegExp(pattern, 'g');
}

const compiledCache = new WeakMap<ReadonlyArray<string | RegExp>, RegExp[]>();

function extraRegexps(options: RedactOptions): RegExp[] {
	const list = options.extraPatterns;
	if (!list || list.length === 0) return [];
	let compiled = compiledCache.get(list);
	if (!compiled) {
		compiled = list.map(compile);
		compiledCache.set(list, compiled);
	}
	return compiled;
}

function applyRules(text: string, options: RedactOptions, count: Counter): string {
	let out = text;
	if (out.includes('PRIVATE KEY')) {
		out = out.replace(privateKey, (match, kind: string, block: string | undefined) => {
			const begin = `-----BEGIN ${kind}PRIVATE KEY${block ?? ''}-----`;
			if (match.startsWith(`${begin}${MASK}-----END`)) return match;
			count('private-key');
			return `${begin}${MASK}-----END ${kind}PRIVATE KEY${block ?? ''}-----`;
		});
	}
	if (out.includes('@')) out = replaceUrlCredentials(out, count);
	// Most log lines hold none of these words: one cheap look spares these four rules.
	if (wordHints.test(out)) out = replaceWordRules(out, count);
	return applyExtra(replaceNames(out, count), options, count);
}

/** keyValue then flagValue (which needs a `--`). */
function replaceNames(text: string, count: Counter): string {
	const out = replaceSecretNames(text, keyValueAt, afterKeySeparator, count);
	return out.includes('--') ? replaceSecretNames(out, flagValueAt, afterFlagSeparator, count) : out;
}

/** The rules that start with a word of wordHints: bearer, Authorization, cookies, AWS key ids. */
function replaceWordRules(text: string, count: Counter): string {
	let out = text.replace(bearer, (match, word: string, space: string, token: string) => {
		if (masked(token)) return match;
		count('bearer');
		return `${word}${space}${MASK}`;
	});
	out = out.replace(authorization, (match, name: string, separator: string, scheme: string | undefined, value: string) => {
		if (masked(value)) return match;
		count('authorization');
		return `${name}${separator}${scheme ?? ''}${MASK}`;
	});
	out = out.replace(cookie, (match, name: string, separator: string, value: string) => {
		if (masked(value)) return match;
		count('cookie');
		return `${name}${separator}${MASK}`;
	});
	return replaceAws(out, count);
}

function replaceAws(text: string, count: Counter): string {
	return text.replace(awsAccessKey, (_match, prefix: string) => {
		count('aws-access-key');
		return `${prefix}${MASK}`;
	});
}

function applyExtra(text: string, options: RedactOptions, count: Counter): string {
	let out = text;
	for (const pattern of extraRegexps(options)) {
		pattern.lastIndex = 0;
		out = out.replace(pattern, match => {
			if (match === '' || match === MASK) return match;
			count('config-pattern');
			return MASK;
		});
	}
	return out;
}

function counter(): {counts: RedactionCounts; count: Counter} {
	const counts: RedactionCounts = {};
	return {counts, count: rule => (counts[rule] = (counts[rule] ?? 0) + 1)};
}

/** Redacts free text: private keys, URL credentials, bearer/Authorization/cookies, AWS key ids, secret `name=value` and `--flag value`. */
export function redact(text: string, options: RedactOptions = {}): Redacted<string> {
	const {counts, count} = counter();
	return {text: applyRules(text, options, count), counts};
}

// ---------------------------------------------------------------- line by line

/** Lines a private-key block may span before we assume its END line is lost. */
const maxKeyLines = 200;

/**
 * Redacts a log one line at a time. A private-key block spans lines: from its BEGIN line
 * to its END line every line is masked (counted once per block).
 */
export class LineRedactor {
	readonly counts: RedactionCounts = {};
	readonly #options: RedactOptions;
	#inKey = 0;
	readonly #count: Counter = rule => (this.counts[rule] = (this.counts[rule] ?? 0) + 1);

	constructor(options: RedactOptions = {}) {
		this.#options = options;
	}

	line(text: string): string {
		if (this.#inKey > 0) {
			const end = privateKeyEnd.exec(text);
			if (!end) {
				this.#inKey = this.#inKey >= maxKeyLines ? 0 : this.#inKey + 1;
				return MASK;
			}
			this.#inKey = 0;
			const rest = text.slice(end.index + end[0].length);
			return `${MASK}${end[0]}${applyRules(rest, this.#options, this.#count)}`;
		}
		const begin = privateKeyBegin.exec(text);
		if (begin && !privateKeyEnd.test(text.slice(begin.index))) {
			// The block starts here and goes on below.
			this.#inKey = 1;
			this.#count('private-key');
			return `${applyRules(text.slice(0, begin.index), this.#options, this.#count)}${begin[0]}${MASK}`;
		}
		return applyRules(text, this.#options, this.#count);
	}

	/**
	 * Whole lines, each ending in a newline, redacted as line() would redact each of them (the
	 * same text, the same counts), in a few passes over all of them instead of one per line:
	 * the rules whose matches stay within a line run on the whole text. A line with a word of
	 * a rule that may reach past a line's end (bearer, Authorization, cookies) is done on its
	 * own; a private key, or a configured pattern (which may match anything), means line by line.
	 */
	block(text: string): string {
		if (this.#inKey > 0 || text.includes('PRIVATE KEY')) return this.#lineByLine(text, line => this.line(line));
		const count = this.#count;
		let out = '';
		let from = 0;
		multiLineHints.lastIndex = 0;
		for (let hint = multiLineHints.exec(text); hint; hint = multiLineHints.exec(text)) {
			const start = text.lastIndexOf('\n', hint.index) + 1;
			const end = text.indexOf('\n', hint.index);
			out += `${withinLines(text.slice(from, start), count)}${applyRules(text.slice(start, end), noExtras, count)}\n`;
			from = end + 1;
			multiLineHints.lastIndex = from;
		}
		out = from === 0 ? withinLines(text, count) : out + withinLines(text.slice(from), count);
		if (extraRegexps(this.#options).length === 0) return out;
		// Configured patterns come last, as in line().
		return this.#lineByLine(out, line => applyExtra(line, this.#options, count));
	}

	#lineByLine(text: string, each: (line: string) => string): string {
		let out = '';
		for (let start = 0, end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) out += `${each(text.slice(start, end))}\n`;
		return out;
	}
}

const noExtras: RedactOptions = {};

/** The rules of applyRules whose matches never cross a line's end, over many lines at once. */
function withinLines(text: string, count: Counter): string {
	let out = text.includes('@') ? replaceUrlCredentials(text, count) : text;
	if (out.includes('AKIA') || out.includes('ASIA')) out = replaceAws(out, count);
	return replaceNames(out, count);
}

// ---------------------------------------------------------------- structured

const envEntry = /^([A-Za-z_][A-Za-z0-9_.\-]*)=([\s\S]*)$/;
/** Keys whose value is a list of `NAME=value` or a map of names to values. */
const envListKeys = new Set(['Env', 'env', 'environment']);
const mapKeys = new Set(['Env', 'env', 'environment', 'Labels', 'labels', 'args', 'headers', 'build_args']);

/** A value stored under a secret-looking name: content rules first, then the whole value. */
function redactNamedValue(value: string, options: RedactOptions, count: Counter): string {
	let hits = 0;
	const text = applyRules(value, options, rule => {
		hits++;
		count(rule);
	});
	if (hits > 0 || value === '' || masked(value)) return text;
	count('secret-env');
	return MASK;
}

function redactEnvString(entry: string, options: RedactOptions, count: Counter): string {
	const match = envEntry.exec(entry);
	if (!match) return applyRules(entry, options, count);
	const [, name = '', value = ''] = match;
	return isSecretEnvName(name) ? `${name}=${redactNamedValue(value, options, count)}` : `${name}=${applyRules(value, options, count)}`;
}

function walk(value: unknown, key: string | null, parentKey: string | null, options: RedactOptions, count: Counter): unknown {
	if (typeof value === 'string') {
		// A map of variables (compose `environment`, `labels`, health `headers`): judged by name.
		if (key !== null && parentKey !== null && mapKeys.has(parentKey) && isSecretEnvName(key)) return redactNamedValue(value, options, count);
		if (key !== null && isSecretTextName(key)) return redactNamedValue(value, options, count);
		return applyRules(value, options, count);
	}
	if (Array.isArray(value)) {
		const isEnv = key !== null && envListKeys.has(key);
		const out: unknown[] = [];
		for (let i = 0; i < value.length; i++) {
			const item: unknown = value[i];
			const previous: unknown = value[i - 1];
			if (typeof item === 'string' && isEnv) {
				out.push(redactEnvString(item, options, count));
			} else if (typeof item === 'string' && typeof previous === 'string' && /^--?[A-Za-z]/.test(previous) && !previous.includes('=') && isSecretTextName(previous) && !item.startsWith('-')) {
				// ["--password", "hunter2"]: the argument of a secret flag.
				count('secret-arg');
				out.push(MASK);
			} else {
				out.push(walk(item, null, key, options, count));
			}
		}
		return out;
	}
	if (value !== null && typeof value === 'object') {
		const out: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = walk(v, k, key, options, count);
		return out;
	}
	return value;
}

/** Redacts parsed JSON (inspect output, compose config…): every string, with names taken into account. */
export function redactJson<T>(value: T, options: RedactOptions = {}): Redacted<T> {
	const {counts, count} = counter();
	return {text: walk(value, null, null, options, count) as T, counts};
}

/** Redacts an environment: `["NAME=value", …]` or `{NAME: value}`. */
export function redactEnv<T extends readonly string[] | Record<string, string | null>>(env: T, options: RedactOptions = {}): Redacted<T> {
	const {counts, count} = counter();
	if (Array.isArray(env)) return {text: env.map(entry => redactEnvString(entry as string, options, count)) as unknown as T, counts};
	const out: Record<string, string | null> = {};
	for (const [name, value] of Object.entries(env as Record<string, string | null>)) {
		out[name] = value === null ? null : isSecretEnvName(name) ? redactNamedValue(value, options, count) : applyRules(value, options, count);
	}
	return {text: out as T, counts};
}

/**
 * Why a configured pattern cannot be used, or null when it can. One that matches the empty
 * string would mark every position, so it is refused too.
 */
export function patternProblem(pattern: string): string | null {
	let regexp: RegExp;
	try {
		regexp = new RegExp(pattern);
	} catch (error) {
		return `not a valid regular expression: ${(error as Error).message}`;
	}
	return regexp.test('') ? 'matches the empty string' : null;
}
