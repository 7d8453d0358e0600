import ky, {isNetworkError, isTimeoutError} from 'ky';
import {expandVariables, type HealthProbe, type HealthTarget} from './health-probe-types.js';
import {readBody} from './http-body.js';
import {networkCodes} from './network-codes.js';

export interface ProbeOptions {
	/** Where `${VAR}` in configured headers is looked up. */
	env?: NodeJS.ProcessEnv;
	/** Aborts every probe still running (they resolve with `error: 'aborted'`). */
	signal?: AbortSignal;
	/** The clock for each probe's `time`. */
	now?: () => number;
}

const bodyChars = 300;
// Enough bytes for 300 characters of any UTF-8 text; a health endpoint streaming
// megabytes must not be read to the end.
const bodyBytes = bodyChars * 4;


/** The innermost error code in a cause chain: undici nests the socket's error two deep. */
function causeCode(error: unknown): string | null {
	for (let current = error, depth = 0; current && depth < 5; depth++) {
		const {code, cause} = current as {code?: unknown; cause?: unknown};
		if (typeof code === 'string') return code;
		// AggregateError (IPv4 and IPv6 both refused): the first one speaks for all.
		const errors = (current as {errors?: unknown}).errors;
		current = Array.isArray(errors) && errors.length > 0 ? errors[0] : cause;
	}
	return null;
}

function innermostMessage(error: unknown): string {
	let message = error instanceof Error ? error.message : String(error);
	for (let current = (error as {cause?: unknown})?.cause, depth = 0; current && depth < 5; depth++) {
		if (current instanceof Error && current.message) message = current.message;
		current = (current as {cause?: unknown}).cause;
	}
	return message;
}

/** One short phrase for why no response came back. */
export function describeProbeError(error: unknown, timeoutMs: number, signal?: AbortSignal): string {
	if (isTimeoutError(error)) return `timeout after ${timeoutMs} ms`;
	if (signal?.aborted) return 'aborted';
	const code = causeCode(isNetworkError(error) ? error.cause : error);
	if (code && networkCodes[code]) return networkCodes[code];
	if (code?.startsWith('ERR_TLS') || code?.includes('CERT')) return `TLS: ${innermostMessage(error)}`;
	const message = innermostMessage(error);
	return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** The first characters of a body, stopping early (and cancelling) once there are enough or time is up. */
const readStart = async (response: Response, deadline: number) => (await readBody(response, deadline, bodyBytes)).text.slice(0, bodyChars);

async function probeOne(target: HealthTarget, options: ProbeOptions): Promise<HealthProbe> {
	const env = options.env ?? process.env;
	const now = options.now ?? Date.now;
	const headers = Object.fromEntries(Object.entries(target.headers).map(([name, value]) => [name, expandVariables(value, env)]));
	const time = new Date(now()).toISOString();
	const start = performance.now();
	const latency = () => Math.round(performance.now() - start);
	try {
		const response = await ky.get(target.url, {
			headers,
			timeout: target.timeoutMs,
			retry: 0,
			throwHttpErrors: false,
			// A redirect to a login page is not the health endpoint answering.
			redirect: 'manual',
			cache: 'no-store',
			...(options.signal ? {signal: options.signal} : {}),
		});
		const latencyMs = latency();
		const body = await readStart(response, start + target.timeoutMs);
		const ok = response.status === target.expectStatus;
		return {
			url: target.url,
			ok,
			status: response.status,
			expectStatus: target.expectStatus,
			latencyMs,
			error: ok ? null : `expected ${target.expectStatus}, got ${response.status}`,
			body,
			time,
		};
	} catch (error) {
		return {
			url: target.url,
			ok: false,
			status: null,
			expectStatus: target.expectStatus,
			latencyMs: latency(),
			error: describeProbeError(error, target.timeoutMs, options.signal),
			body: '',
			time,
		};
	}
}

/**
 * Probes every configured health URL once, all at once. Never throws: a URL that does not
 * answer is a result (`status: null` and why), as is one that answers with the wrong status.
 */
export function probeHealth(targets: readonly HealthTarget[], options: ProbeOptions = {}): Promise<HealthProbe[]> {
	return Promise.all(targets.map(target => probeOne(target, options)));
}
