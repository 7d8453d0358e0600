// A one-line chart of a series, with a limit drawn: ▁▂▃▄▅▆▇█ for the values, and the limit
// as the scale's top when it is higher, so a quiet series stays low against it.

const blocks = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** One character per value (the last `width`), scaled to the larger of the series' peak and `limit`. */
export function sparkline(values: readonly number[], width: number, limit = 0): string {
	const shown = values.slice(-Math.max(1, width));
	const top = Math.max(limit, ...shown, 0);
	if (top <= 0) return blocks[0]!.repeat(shown.length);
	return shown.map(v => blocks[Math.min(blocks.length - 1, Math.max(0, Math.round((v / top) * (blocks.length - 1))))]!).join('');
}

/** Where the limit sits on the same scale: the block a value at the limit would draw. */
export function limitMark(values: readonly number[], limit: number): string {
	const top = Math.max(limit, ...values, 0);
	if (top <= 0 || limit <= 0) return blocks[0]!;
	return blocks[Math.min(blocks.length - 1, Math.round((limit / top) * (blocks.length - 1)))]!;
}
