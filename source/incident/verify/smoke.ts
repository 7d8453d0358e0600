// Smoke checks and flows: one request and what its answer must be, or a named sequence
// where a value taken from one response (a JSON path, a header, a cookie) is used in the
// next. A flow's cleanup runs whatever happened to its steps, so it leaves nothing behind.
import type {HttpAnswer, HttpRequest} from '../../engine/http-check.js';
import type {SmokeEntry, SmokeRequest} from './settings.js';
import {fill, jsonPath} from './templates.js';

export type SendHttp = (request: HttpRequest, signal?: AbortSignal) => Promise<HttpAnswer>;

export interface StepResult {
	name: string;
	method: string;
	url: string;
	status: number | null;
	ok: boolean;
	/** Why it failed, one line; null when it passed. */
	reason: string | null;
	latencyMs: number;
	/** Set for cleanup requests: they are reported, but do not fail the flow. */
	cleanup?: boolean;
}

export interface SmokeResult {
	name: string;
	kind: 'check' | 'flow';
	ok: boolean;
	/** One line: the check, or the flow's failing step, and why. */
	reason: string | null;
	steps: StepResult[];
}

const short = (text: string, max = 80) => {
	const one = text.replace(/\s+/g, ' ').trim();
	return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** What is wrong with an answer, or null when it is what the check expects. */
export function judge(request: SmokeRequest, answer: HttpAnswer): string | null {
	if (answer.status === null) return answer.error ?? 'no answer';
	if (answer.error) return answer.error;
	if (answer.status !== request.expect.status) {
		return `expected ${request.expect.status}, got ${answer.status}${answer.body ? ` (${short(answer.body, 60)})` : ''}`;
	}
	if (request.expect.jsonKeys.length > 0) {
		let json: unknown;
		try {
			json = JSON.parse(answer.body);
		} catch {
			return `expected a JSON body with ${request.expect.jsonKeys.join(', ')}, got ${short(answer.body || '(empty)', 60)}`;
		}
		const absent = request.expect.jsonKeys.filter(key => jsonPath(json, key) === undefined);
		if (absent.length > 0) return `the JSON body has no ${absent.join(', ')}`;
	}
	if (request.expect.bodyContains !== null && !answer.body.includes(request.expect.bodyContains)) {
		return `the body does not contain "${request.expect.bodyContains}"`;
	}
	return null;
}

function take(answer: HttpAnswer, from: 'json' | 'header' | 'cookie', path: string): string | undefined {
	if (from === 'header') return answer.headers[path.toLowerCase()];
	if (from === 'cookie') return answer.cookies[path];
	try {
		const value = jsonPath(JSON.parse(answer.body), path);
		if (value === undefined || value === null) return undefined;
		return typeof value === 'object' ? JSON.stringify(value) : String(value);
	} catch {
		return undefined;
	}
}

async function send(request: SmokeRequest, saved: Record<string, string>, env: NodeJS.ProcessEnv, http: SendHttp, signal?: AbortSignal): Promise<StepResult> {
	const parts = {url: fill(request.url, env, saved), body: request.body === null ? null : fill(request.body, env, saved)};
	const headers: Record<string, string> = {};
	const missing = new Set([...parts.url.missing, ...(parts.body?.missing ?? [])]);
	const unsaved = new Set([...parts.url.unsaved, ...(parts.body?.unsaved ?? [])]);
	const needs: string[] = [];
	for (const [name, value] of Object.entries(request.headers)) {
		const filled = fill(value, env, saved);
		for (const v of filled.missing) {
			missing.add(v);
			needs.push(`header ${name} needs $${v}`);
		}
		for (const v of filled.unsaved) unsaved.add(v);
		headers[name] = filled.value;
	}
	if (request.contentType && !Object.keys(headers).some(h => h.toLowerCase() === 'content-type')) headers['content-type'] = request.contentType;
	const base = {name: request.name, method: request.method, url: parts.url.value, latencyMs: 0};
	// Never send a request with a blank where the operator's token should be.
	if (missing.size > 0) {
		const list = [...missing].map(v => `$${v}`).join(', ');
		const where = needs.length > 0 ? `${needs.join('; ')}: ` : '';
		return {...base, status: null, ok: false, reason: `${where}${list} ${missing.size === 1 ? 'is' : 'are'} not set in this environment (not sent)`};
	}
	if (unsaved.size > 0) {
		return {...base, status: null, ok: false, reason: `no saved value for ${[...unsaved].map(v => `{{${v}}}`).join(', ')} (not sent)`};
	}
	const answer = await http({method: request.method, url: parts.url.value, headers, body: parts.body?.value ?? null, timeoutMs: request.timeoutMs}, signal);
	let reason = judge(request, answer);
	if (reason === null) {
		for (const [name, spec] of Object.entries(request.save)) {
			const value = take(answer, spec.from, spec.path);
			if (value === undefined) {
				reason = `the answer has no ${spec.from} ${spec.path} to save as {{${name}}}`;
				break;
			}
			saved[name] = value;
		}
	}
	return {...base, status: answer.status, ok: reason === null, reason, latencyMs: answer.latencyMs};
}

/** Runs one smoke check or flow; never throws (an unreachable URL is a failed result). */
export async function runSmoke(entry: SmokeEntry, options: {http: SendHttp; env: NodeJS.ProcessEnv; runId: string; signal?: AbortSignal; onStep?: (step: StepResult) => void}): Promise<SmokeResult> {
	const saved: Record<string, string> = {run: options.runId};
	const report = (step: StepResult) => {
		options.onStep?.(step);
		return step;
	};
	if (entry.kind === 'check') {
		const step = report(await send(entry.check, saved, options.env, options.http, options.signal));
		return {name: entry.check.name, kind: 'check', ok: step.ok, reason: step.ok ? null : `${entry.check.method} ${step.url}: ${step.reason}`, steps: [step]};
	}
	const steps: StepResult[] = [];
	let failed: StepResult | null = null;
	for (const request of entry.steps) {
		if (options.signal?.aborted) break;
		const step = report(await send(request, saved, options.env, options.http, options.signal));
		steps.push(step);
		if (!step.ok) {
			failed = step;
			break;
		}
	}
	// Cleanup runs even after a failed step (and is skipped only when its values never came).
	const cleanupProblems: string[] = [];
	for (const request of entry.cleanup) {
		let step: StepResult = {...(await send(request, saved, options.env, options.http, options.signal)), cleanup: true};
		// What a failed step never created has nothing to clean up.
		if (step.status === null && step.reason?.startsWith('no saved value')) step = {...step, ok: true, reason: `skipped: ${step.reason}`};
		report(step);
		steps.push(step);
		if (!step.ok) cleanupProblems.push(`cleanup "${step.name}": ${step.reason}`);
	}
	const aborted = !failed && steps.filter(s => !s.cleanup).length < entry.steps.length;
	const reason = failed
		? `flow "${entry.name}": step "${failed.name}" (${failed.method} ${failed.url}) ${failed.reason}${cleanupProblems.length > 0 ? `; ${cleanupProblems.join('; ')}` : ''}`
		: aborted
			? `flow "${entry.name}": stopped before it finished`
			: cleanupProblems.length > 0
				? `flow "${entry.name}": ${cleanupProblems.join('; ')}`
				: null;
	return {name: entry.name, kind: 'flow', ok: reason === null, reason, steps};
}
