/** A table column that may be dropped when the terminal is narrow. */
export interface ColumnSpec<K extends string = string> {
	key: K;
	title: string;
	/** Lower comes first: columns are kept in this order until the width runs out. */
	priority: number;
	/** Characters, separator included. */
	width: number;
}

/**
 * The columns that fit in `width`, kept by priority and shown in their original order, so a
 * narrow terminal loses UPTIME before it loses TAG (the one column that says which release
 * runs). The first column always stays.
 */
export function fitColumns<K extends string>(specs: readonly ColumnSpec<K>[], width: number): ColumnSpec<K>[] {
	const kept = new Set<K>();
	let used = 0;
	for (const spec of [...specs].sort((a, b) => a.priority - b.priority)) {
		if (kept.size > 0 && used + spec.width > width) continue;
		kept.add(spec.key);
		used += spec.width;
	}
	return specs.filter(spec => kept.has(spec.key));
}

/** `text` in a cell of `width` (separator included): cut with … when longer. */
export function cell(text: string, width: number): string {
	return text.length > width - 1 ? `${text.slice(0, Math.max(0, width - 2))}… ` : text.padEnd(width);
}
