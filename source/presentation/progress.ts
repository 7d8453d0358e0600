/** `[██████░░░░]`-style bar, `width` cells between the brackets; text only, so it reads without colour. */
export function progressBar(done: number, total: number, width: number): string {
	const cells = Math.max(1, width);
	const filled = total <= 0 ? 0 : Math.min(cells, Math.floor((done / total) * cells));
	return `[${'█'.repeat(filled)}${'░'.repeat(cells - filled)}]`;
}
