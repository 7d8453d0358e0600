// Compose fills `${VAR}` in the Compose file from the environment it runs in, and an unset
// variable becomes a blank with only a warning: `Bearer ${OPERATOR_TOKEN}` arrives as
// `Bearer `. Compared with the file as written, such a header gets its `${VAR}` back, so the
// check names the missing variable instead of sending the blank.
import type {Settings} from '../settings.js';
import type {SmokeRequest} from './settings.js';

const reference = /(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}|(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The written value when compose turned every variable in it into a blank; else the value as it is. */
export function restoreBlanked(written: unknown, filled: string): string {
	if (typeof written !== 'string' || !reference.test(written)) return filled;
	reference.lastIndex = 0;
	const blanked = written.replace(reference, '').replaceAll('$$', '$');
	return blanked === filled ? written : filled;
}

type Raw = Record<string, unknown> | undefined;
const at = (value: unknown, key: string | number): Raw => {
	const next = (value as Record<string | number, unknown> | null | undefined)?.[key];
	return next && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
};

function restoreRequest(request: SmokeRequest, raw: Raw): void {
	const headers = at(raw, 'headers');
	for (const name of Object.keys(request.headers)) request.headers[name] = restoreBlanked(headers?.[name], request.headers[name]!);
}

/** Settings with each blanked header given back its `${VAR}` (the settings are changed in place and returned). */
export function restoreBlankedHeaders(settings: Settings, written: unknown): Settings {
	settings.health.forEach((target, i) => {
		const headers = at(at(at(written, 'health'), i), 'headers');
		for (const name of Object.keys(target.headers)) target.headers[name] = restoreBlanked(headers?.[name], target.headers[name]!);
	});
	settings.smoke.forEach((entry, i) => {
		const raw = at(at(written, 'smoke'), i);
		if (entry.kind === 'check') return restoreRequest(entry.check, raw);
		entry.steps.forEach((step, j) => restoreRequest(step, at(at(raw, 'steps'), j)));
		entry.cleanup.forEach((step, j) => restoreRequest(step, at(at(raw, 'cleanup'), j)));
	});
	return settings;
}
