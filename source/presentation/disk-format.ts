/** Pure formatting for the Disk step, shared by `disk` and the console. */

/**
 * A usage bar `width` cells wide: filled up to `percent`, with the threshold marked `│`
 * (the fill shows through as `┃` where it reaches it), so the guard reads at a glance.
 */
export function usageBar(percent: number, threshold: number, width: number): string {
	const cells = Math.max(4, width);
	const filled = Math.min(cells, Math.round((Math.max(0, percent) / 100) * cells));
	const mark = Math.min(cells - 1, Math.max(0, Math.round((threshold / 100) * cells) - 1));
	let bar = '';
	for (let i = 0; i < cells; i++) {
		if (i === mark) bar += i < filled ? '┃' : '│';
		else bar += i < filled ? '█' : '░';
	}
	return bar;
}

/** 23.4 → "24%": rounded up, as df shows Use%. */
export const formatPercent = (percent: number) => `${Math.ceil(percent)}%`;

export const actionVerbs: Record<string, string> = {
	'remove-container': 'remove container',
	'remove-image': 'remove image',
	'prune-build-cache': 'prune build cache',
	'remove-volume': 'remove volume',
	'truncate-log': 'truncate log',
	'remove-backup': 'remove backup',
};

/** A name cut to `width` with an ellipsis. */
export function clip(text: string, width: number): string {
	return text.length <= width ? text : `${text.slice(0, Math.max(1, width - 1))}…`;
}

/** Cut from the front, for image references: the tag at the end is what tells them apart. */
export function clipStart(text: string, width: number): string {
	return text.length <= width ? text : `…${text.slice(text.length - Math.max(1, width - 1))}`;
}

/** An action's or item's name in `width`: image references keep their tag, other names their start. */
export const clipName = (kind: string, name: string, width: number) => (kind === 'remove-image' || kind === 'image' ? clipStart(name, width) : clip(name, width));
