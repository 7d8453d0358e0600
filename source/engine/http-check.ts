// One HTTP request of a smoke check or a flow step, answered whole enough to check: status,
// headers, cookies and the body (up to a limit). Never throws: no answer is a result too,
// with why ("timeout after 5000 ms", "connection refused"). Redirects are followed only
// while they stay on this box (127.0.0.0/8, localhost, ::1); one that leaves it is the answer.
import ky from 'ky';
import {readBody} from './http-body.js';
import {describeProbeError} from './http-probe.js';

export interface HttpRequest {
	method: string;
	url: string;
	headers: Record<string, string>;
	body: string | null;
	timeoutMs: number;
}

export interface HttpAnswer {
	/** Null when no response came back. */
	status: number | null;
	/** Lower-case names. */
	headers: Record<string, string>;
	/** Each Set-Cookie header's `name=value`. */
	cookies: Record<string, string>;
	body: string;
	/** The URL that answered (after redirects on this box). */
	url: string;
	latencyMs: number;
	/** Why there is no usable answer; null when there is one (whatever its status). */
	error: string | null;
}

const bodyLimit = 256 * 1024;
const maxRedirects = 5;

/** Whether a URL points at this box: 127.0.0.0/8, localhost or ::1. */
export function onThisBox(url: string): boolean {
	try {
		const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
		return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
	} catch {
		return false;
	}
}

function cookiesOf(headers: Headers): Record<string, string> {
	const cookies: Record<string, string> = {};
	for (const line of headers.getSetCookie()) {
		const pair = line.split(';', 1)[0] ?? '';
		const eq = pair.indexOf('=');
		if (eq > 0) cookies[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
	}
	return cookies;
}

/** Sends one request; the timeout covers the whole exchange, redirects and body included. */
export async function httpRequest(request: HttpRequest, signal?: AbortSignal): Promise<HttpAnswer> {
	const start = performance.now();
	const deadline = start + request.timeoutMs;
	const latency = () => Math.round(performance.now() - start);
	let url = request.url;
	let method = request.method;
	let body = request.body;
	for (let hop = 0; ; hop++) {
		const left = Math.max(1, Math.round(deadline - performance.now()));
		try {
			const response = await ky(url, {
				method,
				headers: request.headers,
				...(body !== null && method !== 'GET' && method !== 'HEAD' ? {body} : {}),
				timeout: left,
				retry: 0,
				throwHttpErrors: false,
				redirect: 'manual',
				cache: 'no-store',
				...(signal ? {signal} : {}),
			});
			const location = response.headers.get('location');
			if (response.status >= 300 && response.status < 400 && location && hop < maxRedirects) {
				const next = new URL(location, url).href;
				if (!onThisBox(next)) {
					void response.body?.cancel().catch(() => {});
					return {status: response.status, headers: Object.fromEntries(response.headers), cookies: cookiesOf(response.headers), body: '', url, latencyMs: latency(), error: `redirected off this box to ${next}: not followed`};
				}
				void response.body?.cancel().catch(() => {});
				// 303 (and 301/302 after a POST, as browsers do) become a GET.
				if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
					method = 'GET';
					body = null;
				}
				url = next;
				continue;
			}
			const {text, late, bytes} = await readBody(response, deadline, bodyLimit);
			// Headers on time but the body still coming at the deadline: the timeout, named.
			const error = late ? `timeout after ${request.timeoutMs} ms (status ${response.status}, the body still arriving: ${bytes} bytes so far)` : null;
			return {status: response.status, headers: Object.fromEntries(response.headers), cookies: cookiesOf(response.headers), body: text, url, latencyMs: latency(), error};
		} catch (error) {
			return {status: null, headers: {}, cookies: {}, body: '', url, latencyMs: latency(), error: describeProbeError(error, request.timeoutMs, signal)};
		}
	}
}
