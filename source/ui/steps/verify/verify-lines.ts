// Step 6's body as lines: each check a row with its live result, the health retries, a
// sparkline of error lines per minute per release service against its limit (from the
// baseline), and the window's countdown. Pure: the state in, lines out.
import {formatMs} from '../../../incident/duration.js';
import type {CheckRow, VerifyState} from '../../../incident/verify/run.js';
import {limitMark, sparkline} from '../../../presentation/sparkline.js';
import {printable} from '../../../presentation/text.js';
import type {Tone} from '../../../presentation/format.js';
import type {Line} from '../../kit/line.js';

const marks: Record<CheckRow['status'], [string, Tone]> = {
	waiting: ['·', 'muted'],
	running: ['…', 'warn'],
	pass: ['✓', 'good'],
	fail: ['✗', 'bad'],
	skipped: ['-', 'muted'],
};

export function checkLines(state: VerifyState): Line[] {
	return state.checks.map(c => {
		const [mark, tone] = marks[c.status];
		const text = c.status === 'fail' ? (c.reason ?? c.detail) : c.detail;
		return {key: `check:${c.id}`, text: `${mark} ${c.title}${text ? ` — ${printable(text)}` : ''}`, tone, wrap: c.status === 'fail'};
	});
}

export function errorLines(state: VerifyState): Line[] {
	if (state.errors.length === 0) return [];
	const lines: Line[] = [{key: 'errors:title', text: 'error lines per minute (│ marks the limit: baseline × factor, at least the minimum)', tone: 'muted'}];
	const width = Math.max(...state.errors.map(e => e.service.length), 6);
	for (const e of state.errors) {
		const over = e.rate > e.limit;
		lines.push({
			key: `errors:${e.service}`,
			text: `  ${e.service.padEnd(width)} ${sparkline(e.buckets, 24, e.limit).padEnd(24)} │${limitMark(e.buckets, e.limit)} ${e.rate.toFixed(1)}/min · baseline ${e.baseline === null ? 'none' : `${e.baseline.toFixed(1)}/min`} · limit ${e.limit.toFixed(1)}/min`,
			tone: over ? 'bad' : 'plain',
		});
	}
	return lines;
}

/** The countdown: what is being checked now and how long the window still runs. */
export function phaseLine(state: VerifyState, now: number, options: {readOnly?: boolean; running?: boolean} = {}): Line {
	if (state.finished) {
		const passed = options.readOnly
			? `verified ${state.tag ?? ''}: every check passed (read-only: nothing recorded)`
			: state.recorded
				? `verified ${state.recorded}: recorded as verified — the next rollback's last known good`
				: options.running
					? `verified ${state.tag ?? ''}: recording the release…`
					: `verified, but not recorded: the release services' images have no digests to name the release by`;
		return state.verified
			? {key: 'phase', text: passed, tone: 'good', bold: true}
			: {key: 'phase', text: state.interrupted ? 'stopped: not verified (what was seen is in the timeline)' : 'not verified: the failing checks are above; nothing was changed', tone: 'bad', bold: true};
	}
	const left = Math.max(0, state.windowEndsAt - now);
	const countdown = left > 0 ? ` · window ${formatMs(Math.ceil(left / 1000) * 1000)} left of ${formatMs(state.windowMs)}` : '';
	return {key: 'phase', text: `${printable(state.phase)}${countdown}`, tone: 'warn'};
}

/** Before the first run: what `v` will check. */
export function planLines(plan: {windowMs: number; tries: number; intervalMs: number; checks: string[]}): Line[] {
	return [
		{key: 'plan:what', text: `v starts the checks: nothing on the box changes; a pass records the release as verified.`},
		{key: 'plan:how', text: `health URLs up to ${plan.tries} tries ${formatMs(plan.intervalMs)} apart; restarts and error rate watched over ${formatMs(plan.windowMs)}.`, tone: 'muted', wrap: true},
		...plan.checks.map((c, i) => ({key: `plan:${i}`, text: `· ${c}`, tone: 'muted' as const})),
		{key: 'plan:errors', text: '· error rate of each release service against its baseline', tone: 'muted'},
	];
}
