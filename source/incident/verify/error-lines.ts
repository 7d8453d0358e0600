// Which log lines are errors: JSON lines by their level field (`level`, `severity`, `lvl`,
// pino's numbers), plain text by the configured patterns (`level=error`, `ERROR`, a panic).

const errorLevels = new Set(['error', 'err', 'fatal', 'critical', 'crit', 'panic', 'emerg', 'emergency', 'alert']);

export type ErrorMatcher = (text: string) => boolean;

export function errorMatcher(patterns: readonly string[]): ErrorMatcher {
	const compiled = patterns.map(p => new RegExp(p));
	return text => {
		const trimmed = text.trim();
		if (trimmed.startsWith('{')) {
			try {
				const json = JSON.parse(trimmed) as Record<string, unknown>;
				const level = json['level'] ?? json['severity'] ?? json['lvl'] ?? (json['log'] as Record<string, unknown> | undefined)?.['level'];
				if (typeof level === 'number') return level >= 50;
				if (typeof level === 'string') return errorLevels.has(level.toLowerCase());
			} catch {
				// Not JSON after all: read it as text.
			}
		}
		return compiled.some(re => re.test(trimmed));
	};
}

/** Error lines per minute, one bucket per minute from `since`, the last one partial. */
export function perMinute(times: readonly number[], since: number, until: number): number[] {
	const buckets = Array.from({length: Math.max(1, Math.ceil((until - since) / 60_000))}, () => 0);
	for (const time of times) {
		if (time < since || time > until) continue;
		const i = Math.min(buckets.length - 1, Math.floor((time - since) / 60_000));
		buckets[i]!++;
	}
	return buckets;
}

/** Errors per minute over a span (at least a second long, so a fresh start is not a division by zero). */
export const ratePerMinute = (count: number, spanMs: number): number => (count * 60_000) / Math.max(1000, spanMs);

/** Reads one container's log lines from a time on (the Engine's `since`). */
export type LogsSince = (containerId: string, sinceMs: number, signal: AbortSignal) => AsyncIterable<Array<{time: string | null; text: string; marker?: boolean}>>;

/**
 * Error lines per minute of each service over the last `windowMs`, read from its containers'
 * logs now: what deploy's preflight keeps as the baseline of the release it replaces (the
 * window before a deploy), for a later verify when no verified release recorded one.
 */
export async function errorRatesNow(
	containers: ReadonlyArray<{id: string; service: string}>,
	logsSince: LogsSince,
	options: {patterns: readonly string[]; windowMs: number; now?: number; signal?: AbortSignal},
): Promise<Record<string, number>> {
	const isError = errorMatcher(options.patterns);
	const end = options.now ?? Date.now();
	const from = end - options.windowMs;
	const signal = options.signal ?? new AbortController().signal;
	const counts: Record<string, number> = {};
	for (const c of containers) {
		counts[c.service] ??= 0;
		for await (const batch of logsSince(c.id, from, signal)) {
			for (const line of batch) {
				if (line.marker || !line.time) continue;
				const time = Date.parse(line.time);
				if (time >= from && time <= end && isError(line.text)) counts[c.service]!++;
			}
		}
	}
	return Object.fromEntries(Object.entries(counts).map(([service, n]) => [service, ratePerMinute(n, options.windowMs)]));
}
