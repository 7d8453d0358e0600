// Posting JSON to webhooks and APIs (ky): a per-attempt timeout (default 5 s), a total
// deadline so nothing hangs, retries on 5xx and 429 honouring Retry-After. Never throws:
// the answer says what happened, so a failed notification never fails what sent it.
import type {KyInstance} from 'ky';
import {networkCodes} from './network-codes.js';

export interface PostOptions {
	headers?: Record<string, string>;
	/** Per attempt, in ms (default 5000). */
	timeoutMs?: number;
	/** Retries after the first attempt (default 2). */
	retries?: number;
	/** The longest Retry-After honoured, in ms (default 10 s): a server cannot park us for an hour. */
	maxRetryAfterMs?: number;
	signal?: AbortSignal;
}

export interface PostResult {
	ok: boolean;
	status: number | null;
	/** The parsed JSON answer, when there was one. */
	body: unknown;
	attempts: number;
	ms: number;
	/** One line; null when ok. Never holds the request's headers (they may carry a token). */
	error: string | null;
}

/** The URL without credentials or query, for messages and the timeline. */
export function safeUrl(url: string): string {
	try {
		const u = new URL(url);
		return `${u.protocol}//${u.host}${u.pathname}`;
	} catch {
		return '(not a URL)';
	}
}

// ky (20 modules) is loaded on the first request, not with the console: notifications are
// rare, the console's first frame is not.
type Ky = typeof import('ky');
let loaded: Ky | undefined;
const loadKy = async (): Promise<Ky> => (loaded ??= await import('ky'));

function describe({isTimeoutError, isNetworkError}: Ky, error: unknown, timeoutMs: number): string {
	if (isTimeoutError(error)) return `no answer within ${timeoutMs / 1000} s`;
	const cause = (error as {cause?: {code?: string; cause?: {code?: string}}})?.cause;
	const code = cause?.code ?? cause?.cause?.code;
	if (code && networkCodes[code]) return networkCodes[code]!;
	if (isNetworkError(error)) return 'network error';
	if ((error as Error)?.name === 'AbortError') return 'cancelled';
	return (error as Error)?.message ?? String(error);
}

async function answer(response: Response): Promise<unknown> {
	const text = await response.text().catch(() => '');
	try {
		return text ? (JSON.parse(text) as unknown) : null;
	} catch {
		return text.slice(0, 500);
	}
}

/** Sends one request with a JSON body (POST unless said) and reads the JSON answer. */
export async function sendJson(method: 'post' | 'get', url: string, json: unknown, options: PostOptions = {}): Promise<PostResult> {
	const timeoutMs = options.timeoutMs ?? 5000;
	const retries = options.retries ?? 2;
	const maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
	const started = performance.now();
	let attempts = 0;
	const ms = () => Math.round(performance.now() - started);
	const lib = await loadKy();
	const ky: KyInstance = lib.default;
	try {
		const response = await ky(url, {
			method,
			...(method === 'post' ? {json} : {}),
			headers: options.headers ?? {},
			timeout: timeoutMs,
			// Every attempt, every wait between them: bounded, so a slow server never hangs a rollback.
			totalTimeout: timeoutMs * (retries + 1) + maxRetryAfterMs * retries + 1000,
			retry: {
				limit: retries,
				methods: ['post', 'get'],
				statusCodes: [429, 500, 502, 503, 504],
				afterStatusCodes: [429, 500, 502, 503, 504],
				maxRetryAfter: maxRetryAfterMs,
				backoffLimit: 3000,
				retryOnTimeout: true,
			},
			redirect: 'error',
			hooks: {beforeRequest: [() => void attempts++], beforeRetry: [() => void attempts++]},
			...(options.signal ? {signal: options.signal} : {}),
		});
		return {ok: true, status: response.status, body: await answer(response), attempts: Math.max(1, attempts), ms: ms(), error: null};
	} catch (error) {
		if (lib.isHTTPError(error)) {
			const body = await answer(error.response);
			const message = body && typeof body === 'object' && typeof (body as {message?: unknown}).message === 'string' ? `: ${(body as {message: string}).message}` : '';
			return {ok: false, status: error.response.status, body, attempts: Math.max(1, attempts), ms: ms(), error: `${safeUrl(url)} answered ${error.response.status}${message}`};
		}
		return {ok: false, status: null, body: null, attempts: Math.max(1, attempts), ms: ms(), error: `${safeUrl(url)}: ${describe(lib, error, timeoutMs)}`};
	}
}

export const postJson = (url: string, json: unknown, options: PostOptions = {}) => sendJson('post', url, json, options);
