// `x-rollback-console.verify` and `.smoke`: validated here, one clear line per mistake,
// naming the key the way the Compose file spells it.
import {ConsoleError} from '../../errors.js';
import {parseDuration} from '../duration.js';

export interface VerifySettings {
	/** How long the error rate is watched after the rollback (default 5 minutes; `--window`). */
	windowMs: number;
	/** The error rate passes within this factor of the baseline (default 1.5). */
	errorFactor: number;
	/** Error lines per minute at or under which a service always passes (a quiet service with one error). */
	minErrorRate: number;
	/** Plain-text lines matching any of these (case-sensitive) count as errors; JSON lines are read by their level field. */
	errorPatterns: string[];
	health: {tries: number; intervalMs: number};
}

/** Where a flow takes a value from a response, to use as `{{name}}` in the next requests. */
export interface SavedValue {
	from: 'json' | 'header' | 'cookie';
	/** A JSON path (`token`, `data.items[0].id`, `$.id`), a header name or a cookie name. */
	path: string;
}

/** One HTTP request of a smoke check or a flow, and what its answer must be. */
export interface SmokeRequest {
	name: string;
	method: string;
	url: string;
	/** Values may hold `${VAR}` (the operator's environment, at verify time) and `{{saved}}`. */
	headers: Record<string, string>;
	body: string | null;
	/** Set when the body was given as `json:`. */
	contentType: string | null;
	expect: {status: number; jsonKeys: string[]; bodyContains: string | null};
	timeoutMs: number;
	save: Record<string, SavedValue>;
}

export type SmokeEntry =
	| {kind: 'check'; check: SmokeRequest}
	| {kind: 'flow'; name: string; steps: SmokeRequest[]; cleanup: SmokeRequest[]};

type Raw = Record<string, unknown>;

export const fail = (key: string, problem: string) => new ConsoleError(`x-rollback-console.${key}: ${problem} (in the Compose file)`);

function object(value: unknown, key: string): Raw {
	if (value === undefined || value === null) return {};
	if (typeof value !== 'object' || Array.isArray(value)) throw fail(key, 'expected a mapping');
	return value as Raw;
}

function onlyKeys(value: Raw, key: string, allowed: string[]): void {
	for (const k of Object.keys(value)) if (!allowed.includes(k)) throw fail(`${key}.${k}`, `unknown key (known: ${allowed.join(', ')})`);
}

function text(value: unknown, key: string, fallback: string | null): string | null {
	if (value === undefined || value === null) return fallback;
	if (typeof value !== 'string' || value === '') throw fail(key, 'expected a non-empty string');
	return value;
}

function whole(value: unknown, key: string, fallback: number, min: number, max: number): number {
	if (value === undefined || value === null) return fallback;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw fail(key, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
	return n;
}

function decimal(value: unknown, key: string, fallback: number, min: number, max: number): number {
	if (value === undefined || value === null) return fallback;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) throw fail(key, `expected a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
	return n;
}

const fmt = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** A duration (`5m`, `90s`, `1m30s`, `500ms`; a bare number is seconds) in milliseconds. */
export function duration(value: unknown, key: string, fallback: number, minMs: number, maxMs: number): number {
	if (value === undefined || value === null) return fallback;
	const ms = typeof value === 'string' || typeof value === 'number' ? parseDuration(value) : null;
	if (ms === null) throw fail(key, `expected a duration such as 5m, 90s or 500ms, got ${JSON.stringify(value)}`);
	if (ms < minMs || ms > maxMs) throw fail(key, `expected a duration from ${fmt(minMs)} to ${fmt(maxMs)}, got ${JSON.stringify(value)}`);
	return ms;
}

// Error-level words as plain-text logs write them: `level=error`, `ERROR`, `[FATAL]`, a Go panic.
// Case matters: `ERROR` is a level, `error` in a sentence is often not.
export const defaultErrorPatterns = ['\\b(ERROR|FATAL|CRITICAL|PANIC|EMERG|ALERT)\\b', '\\blevel=(error|fatal|critical|panic|ERROR|FATAL|CRITICAL|PANIC)\\b', '^panic: '];

export function parseVerify(value: unknown): VerifySettings {
	const verify = object(value, 'verify');
	onlyKeys(verify, 'verify', ['window', 'error_factor', 'min_error_rate', 'error_patterns', 'health']);
	const health = object(verify['health'], 'verify.health');
	onlyKeys(health, 'verify.health', ['tries', 'interval']);
	const list = verify['error_patterns'] ?? defaultErrorPatterns;
	if (!Array.isArray(list)) throw fail('verify.error_patterns', 'expected a list of regular expressions');
	const errorPatterns = list.map((pattern, i) => {
		const key = `verify.error_patterns[${i}]`;
		if (typeof pattern !== 'string' || pattern === '') throw fail(key, 'expected a regular expression as a string');
		try {
			new RegExp(pattern);
		} catch (error) {
			throw fail(key, `not a regular expression: ${(error as Error).message}`);
		}
		return pattern;
	});
	return {
		windowMs: duration(verify['window'], 'verify.window', 5 * 60_000, 1000, 24 * 3_600_000),
		errorFactor: decimal(verify['error_factor'], 'verify.error_factor', 1.5, 1, 1000),
		minErrorRate: decimal(verify['min_error_rate'], 'verify.min_error_rate', 2, 0, 1_000_000),
		errorPatterns,
		health: {
			tries: whole(health['tries'], 'verify.health.tries', 12, 1, 1000),
			intervalMs: duration(health['interval'], 'verify.health.interval', 10_000, 0, 3_600_000),
		},
	};
}

const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const requestKeys = ['name', 'method', 'url', 'headers', 'body', 'json', 'expect', 'timeout', 'save'];

function parseRequest(value: unknown, key: string, fallbackName: string): SmokeRequest {
	const item = object(value, key);
	onlyKeys(item, key, requestKeys);
	const url = text(item['url'], `${key}.url`, null);
	if (url === null) throw fail(`${key}.url`, 'required');
	// `{{saved}}` may stand for a whole path: check the URL with them filled in.
	const probe = url.replace(/\{\{\s*[A-Za-z_][\w-]*\s*\}\}/g, 'x');
	if (!URL.canParse(probe) || !/^https?:$/.test(new URL(probe).protocol)) throw fail(`${key}.url`, `"${url}" is not an http(s) URL`);
	const method = (text(item['method'], `${key}.method`, 'GET') ?? 'GET').toUpperCase();
	if (!methods.includes(method)) throw fail(`${key}.method`, `expected one of ${methods.join(', ')}, got "${method}"`);
	const headers: Record<string, string> = {};
	for (const [name, header] of Object.entries(object(item['headers'], `${key}.headers`))) {
		if (typeof header !== 'string' && typeof header !== 'number') throw fail(`${key}.headers.${name}`, 'expected a string');
		headers[name] = String(header);
	}
	if (item['body'] !== undefined && item['json'] !== undefined) throw fail(key, 'give either body or json, not both');
	let body: string | null = null;
	let contentType: string | null = null;
	if (item['json'] !== undefined) {
		body = JSON.stringify(item['json']);
		contentType = 'application/json';
	} else if (item['body'] !== undefined && item['body'] !== null) {
		if (typeof item['body'] !== 'string') throw fail(`${key}.body`, 'expected a string (use json: for a JSON body)');
		body = item['body'];
	}
	const expect = object(item['expect'], `${key}.expect`);
	onlyKeys(expect, `${key}.expect`, ['status', 'json_keys', 'body']);
	const keys = expect['json_keys'] ?? [];
	if (!Array.isArray(keys) || keys.some(k => typeof k !== 'string' || k === '')) throw fail(`${key}.expect.json_keys`, 'expected a list of JSON paths');
	const save: Record<string, SavedValue> = {};
	for (const [name, spec] of Object.entries(object(item['save'], `${key}.save`))) {
		const skey = `${key}.save.${name}`;
		if (!/^[A-Za-z_][\w-]*$/.test(name)) throw fail(skey, 'a saved value is named with letters, digits, _ and -');
		const from = object(spec, skey);
		const entries = Object.entries(from);
		if (entries.length !== 1 || !['json', 'header', 'cookie'].includes(entries[0]![0])) throw fail(skey, 'expected one of {json: PATH}, {header: NAME}, {cookie: NAME}');
		const [kind, path] = entries[0]!;
		if (typeof path !== 'string' || path === '') throw fail(`${skey}.${kind}`, 'expected a non-empty string');
		save[name] = {from: kind as SavedValue['from'], path};
	}
	return {
		name: text(item['name'], `${key}.name`, fallbackName)!,
		method,
		url,
		headers,
		body,
		contentType,
		expect: {
			status: whole(expect['status'], `${key}.expect.status`, 200, 100, 599),
			jsonKeys: keys as string[],
			bodyContains: text(expect['body'], `${key}.expect.body`, null),
		},
		timeoutMs: duration(item['timeout'], `${key}.timeout`, 10_000, 100, 120_000),
		save,
	};
}

export function parseSmoke(value: unknown): SmokeEntry[] {
	if (value === undefined || value === null) return [];
	if (!Array.isArray(value)) throw fail('smoke', 'expected a list of checks ({url, …}) and flows ({flow, steps, cleanup})');
	const names = new Set<string>();
	return value.map((entry, i): SmokeEntry => {
		const key = `smoke[${i}]`;
		const item = object(entry, key);
		let parsed: SmokeEntry;
		if (item['flow'] !== undefined) {
			onlyKeys(item, key, ['flow', 'steps', 'cleanup']);
			const name = text(item['flow'], `${key}.flow`, null)!;
			const steps = item['steps'];
			if (!Array.isArray(steps) || steps.length === 0) throw fail(`${key}.steps`, 'expected a list of requests');
			const cleanup = item['cleanup'] ?? [];
			if (!Array.isArray(cleanup)) throw fail(`${key}.cleanup`, 'expected a list of requests');
			parsed = {
				kind: 'flow',
				name,
				steps: steps.map((s, j) => parseRequest(s, `${key}.steps[${j}]`, `step ${j + 1}`)),
				cleanup: cleanup.map((s, j) => parseRequest(s, `${key}.cleanup[${j}]`, `cleanup ${j + 1}`)),
			};
		} else {
			const check = parseRequest(item, key, '');
			if (!check.name) check.name = `${check.method} ${check.url}`;
			parsed = {kind: 'check', check};
		}
		const name = parsed.kind === 'flow' ? parsed.name : parsed.check.name;
		if (names.has(name)) throw fail(key, `the name "${name}" is used twice`);
		names.add(name);
		return parsed;
	});
}
