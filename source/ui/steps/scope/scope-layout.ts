import {HEALTH_SNIPPET} from '../../../incident/scope.js';

const maxServiceRows = 4;
const maxHealthRows = 4;
export const maxReasonRows = 3;

export interface ScopeLayout {
	serviceRows: number;
	healthRows: number;
	/** The snippet in full (3 YAML lines) or inline. */
	snippetFull: boolean;
	/** Log lines shown, and whether they get a full box (top and bottom border) or sides only. */
	logRows: number;
	logBox: 'full' | 'sides' | 'none';
	reasonRows: number;
}

/**
 * Fits the sections into `rows` (the step's whole height, border included): the title, the
 * recorded decision, the interaction and the key line come first; then one row per failing
 * service and health URL (up to 4 each); the failing service's logs get what is left.
 */
export function scopeLayout(
	rows: number,
	want: {top: number; reasons: number; interaction: number; failing: number; health: number; snippet: boolean; message: number; release?: number},
): ScopeLayout {
	const inner = Math.max(1, rows - 2);
	let reasonRows = Math.min(want.reasons, maxReasonRows);
	const fixed = () => 1 + want.top + reasonRows + 1 + 1 + want.interaction + 1 + want.message + (want.release ?? 0);
	let serviceRows = Math.min(want.failing, maxServiceRows);
	let healthRows = want.snippet ? 1 + HEALTH_SNIPPET.length : Math.max(1, Math.min(want.health, maxHealthRows));
	let snippetFull = want.snippet;
	const logsWanted = want.failing > 0 ? 4 : 0;
	const spare = () => inner - fixed() - serviceRows - healthRows - logsWanted;
	// Give up detail in this order until the logs get a caption and three lines.
	if (spare() < 0 && want.snippet) {
		snippetFull = false;
		healthRows = 2;
	}
	if (spare() < 0 && !want.snippet) healthRows = Math.max(1, healthRows + spare());
	if (spare() < 0) serviceRows = Math.max(Math.min(1, want.failing), serviceRows + spare());
	if (spare() < 0) reasonRows = Math.max(Math.min(1, want.reasons), reasonRows + spare());
	const area = want.failing > 0 ? Math.max(0, inner - fixed() - serviceRows - healthRows - 1) : 0;
	const logBox = area >= 5 ? 'full' : area >= 1 ? 'sides' : 'none';
	return {serviceRows, healthRows, snippetFull, logRows: logBox === 'full' ? area - 2 : area, logBox, reasonRows};
}
