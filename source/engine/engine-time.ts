// The Engine's times: RFC 3339 with nanoseconds in log lines and events, "seconds.nanoseconds"
// in the API's since/until. Kept as bigint nanoseconds so nothing is lost in between.
const timestampPattern = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** RFC 3339 (nanoseconds kept) → ns since the epoch. */
export function timeToNs(time: string): bigint | null {
	const match = timestampPattern.exec(time);
	if (!match) return null;
	const ms = Date.parse(`${match[1]}${match[3]}`);
	if (Number.isNaN(ms)) return null;
	return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** ns → the Engine's `since`/`until` form "seconds.nanoseconds" (a float would lose the ns). */
export function nsToApiTime(ns: bigint): string {
	return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** Unix seconds from a caller → the Engine's form (String() would write 1e-7 as "1e-7"). */
export function secondsToApiTime(seconds: number): string {
	return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(9);
}

export function nsToRfc3339(ns: bigint): string {
	const iso = new Date(Number(ns / 1_000_000n)).toISOString();
	return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** Inspect trims trailing zeros off its times, log lines do not: write markers like log lines. */
export function fixedTime(time: string): string {
	const ns = timeToNs(time);
	return ns === null ? time : nsToRfc3339(ns);
}
