// Durations as operators write them in the Compose file and on the command line:
// `5m`, `90s`, `1m30s`, `500ms`, `1h`; a bare number is seconds.

const units: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000};

/** Milliseconds, or null when `text` is not a duration. */
export function parseDuration(text: string | number): number | null {
	if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text * 1000) : null;
	const trimmed = text.trim();
	if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
	if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return null;
	let total = 0;
	for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(amount) * units[unit!]!;
	return Math.round(total);
}

/** `5m`, `1m30s`, `10s`, `250ms`: the shortest way to write `ms` back. */
export function formatMs(ms: number): string {
	if (ms < 1000) return `${ms}ms`;
	if (ms % 1000 !== 0) return `${(ms / 1000).toFixed(1)}s`;
	const s = ms / 1000;
	if (s < 60) return `${s}s`;
	const m = Math.floor(s / 60);
	return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
}
