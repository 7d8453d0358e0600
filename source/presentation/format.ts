/** Pure formatting shared by the headless commands and the console. */

export function formatDuration(seconds: number | null): string {
	if (seconds === null || !Number.isFinite(seconds)) return '-';
	const s = Math.max(0, Math.floor(seconds));
	if (s < 60) return `${s}s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
	const h = Math.floor(m / 60);
	if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
	return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

const units = ['B', 'kB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
	let value = bytes;
	let unit = 0;
	while (Math.abs(value) >= 1000 && unit < units.length - 1) {
		value /= 1000;
		unit++;
	}
	return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** sha256:0123456789abcdef… → 0123456789ab, as docker shows IDs. */
export function shortId(id: string | null): string {
	if (!id) return '-';
	return id.replace(/^sha256:/, '').slice(0, 12);
}

export type Tone = 'good' | 'bad' | 'warn' | 'muted' | 'plain';

export function stateTone(state: string, health: string): Tone {
	if (state === 'running') return health === 'unhealthy' ? 'bad' : health === 'starting' ? 'warn' : 'good';
	if (state === 'paused' || state === 'created') return 'warn';
	return 'bad';
}

const ansi: Record<Tone, [string, string]> = {
	good: ['\u001B[32m', '\u001B[39m'],
	bad: ['\u001B[31m', '\u001B[39m'],
	warn: ['\u001B[33m', '\u001B[39m'],
	muted: ['\u001B[2m', '\u001B[22m'],
	plain: ['', ''],
};

export function paint(text: string, tone: Tone, color: boolean): string {
	if (!color || tone === 'plain') return text;
	const [open, close] = ansi[tone];
	return `${open}${text}${close}`;
}

/** Pads plain-text cells into aligned columns; `tones` colours whole cells after padding. */
export function formatTable(
	header: string[],
	rows: string[][],
	options: {color?: boolean; tones?: Array<Array<Tone | undefined>>} = {},
): string {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
	const line = (cells: string[], tones?: Array<Tone | undefined>) =>
		cells
			.map((cell, i) => {
				const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
				return paint(padded, tones?.[i] ?? 'plain', options.color ?? false);
			})
			.join('  ')
			.trimEnd();
	return [line(header), ...rows.map((r, i) => line(r, options.tones?.[i]))].join('\n');
}

/** Whether to colour output: a TTY, and neither NO_COLOR nor --no-color. */
export function useColor(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv, flag: boolean): boolean {
	return flag && Boolean(stream.isTTY) && !('NO_COLOR' in env && env['NO_COLOR'] !== '');
}
