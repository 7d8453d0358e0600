// What the Stabilise step draws, as lines for StepFrame: pure, from the candidates, the
// plan and the worker's run.
import type {RollbackPlan} from '../../../incident/stabilise/plan.js';
import type {Candidate} from '../../../incident/stabilise/releases.js';
import {shortId, type Tone} from '../../../presentation/format.js';
import type {Line} from '../../kit/line.js';
import {safeText} from '../../kit/safe-text.js';
import type {RunView} from '../../stabilise-model.js';

const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}` : '');

function marksOf(c: Candidate): string {
	const away = c.rolledBackFrom;
	const rolledBack = away ? `ROLLED BACK FROM ${when(away.time).slice(5)}${away.user ? ` by ${away.user}` : ''}` : c.rolledBack ? 'ROLLED BACK FROM' : '';
	return [c.current ? 'current' : '', c.lastKnownGood ? 'last known good' : '', c.verified ? `verified ${when(c.verifiedAt)}` : rolledBack, c.repushed ? 'RE-PUSHED' : '']
		.filter(Boolean)
		.join(', ');
}

/** Column widths that fit every candidate shown, so the columns line up. */
export function candidateWidths(candidates: readonly Candidate[]): {tag: number; marks: number} {
	return {
		tag: Math.max(8, ...candidates.map(c => c.tag.length + 1)),
		marks: Math.max(10, ...candidates.map(c => marksOf(c).length + 1)),
	};
}

export function candidateLine(c: Candidate, cursor: boolean, target: boolean, widths = candidateWidths([c])): Line {
	const marks = marksOf(c);
	const where = [
		c.registry.present ? `registry ${shortId(c.registry.digest)}` : c.registry.present === false ? 'not in registry' : '',
		c.local ? 'local' : '',
		c.github ? `GitHub: ${c.github.note ?? c.github.name ?? c.github.tag}` : '',
	]
		.filter(Boolean)
		.join(' · ');
	const text = `${cursor ? '›' : ' '}${target ? '●' : ' '} ${(c.lastKnownGood ? '★ ' : '  ') + c.tag.padEnd(widths.tag)} ${marks.padEnd(widths.marks)} ${where}`;
	const tone: Tone = c.lastKnownGood ? 'good' : c.rolledBack && !c.verified ? 'bad' : c.current ? 'warn' : c.verified ? 'plain' : 'muted';
	return {key: `cand-${c.tag}`, tone, text};
}

/** `rows` candidates around the cursor. */
export function candidateLines(candidates: readonly Candidate[], cursor: number, rows: number, target: string | null): Line[] {
	const shown = Math.min(candidates.length, rows);
	const first = Math.max(0, Math.min(cursor - Math.floor(shown / 2), candidates.length - shown));
	const widths = candidateWidths(candidates);
	return candidates.slice(first, first + shown).map((c, i) => candidateLine(c, first + i === cursor, c.tag === target, widths));
}

/** The plan: per-service change, the commands, the durable change, notes and warnings. */
export function planLines(plan: RollbackPlan): Line[] {
	const lines: Line[] = [];
	lines.push({key: 'to', text: `Roll back to ${plan.to.tag}${plan.to.pinned ? ` pinned to ${shortId(plan.to.pinned)}` : ''}${plan.to.verified ? ' (verified)' : ''}:`});
	for (const s of plan.services) {
		lines.push({
			key: `svc-${s.service}`,
			text: `  ${s.service.padEnd(12)} ${(s.from.tag ?? '-').padEnd(10)} ${shortId(s.from.digest)} → ${s.to.tag.padEnd(10)} ${shortId(s.to.digest)}  ${s.to.local ? 'on this box' : 'to pull'}`,
		});
	}
	for (const [i, c] of plan.commands.entries()) {
		// Whole, wrapped: every command that will run is shown before it runs.
		lines.push({key: `cmd-${i}`, tone: 'muted', wrap: true, text: `  $ ${c.skip ? '(skipped) ' : ''}${c.display}`});
		if (c.wait) lines.push({key: `wait-${i}`, tone: 'muted', wrap: true, text: `    ${c.wait.says}`});
	}
	if (plan.durable.persist !== 'none') {
		const changed = plan.durable.diff.trimEnd().split('\n').filter(l => /^[-+](?![-+]{2} )/.test(l));
		for (const [i, d] of changed.entries()) lines.push({key: `diff-${i}`, tone: d.startsWith('+') ? 'good' : 'warn', text: `  ${d}`});
	}
	for (const [i, n] of plan.notes.entries()) lines.push({key: `note-${i}`, tone: 'muted', text: `  note: ${n}`});
	for (const [i, w] of plan.warnings.entries()) lines.push({key: `warn-${i}`, tone: 'warn', wrap: true, text: `  ! ${w.text}`});
	return lines;
}

/** The run: what goes where, its result, then as much of its output (or the failing service's log) as `rows` allows. */
export function runLines(run: RunView, finished: boolean, rows: number): Line[] {
	const lines: Line[] = [
		{
			key: 'run',
			bold: true,
			text: `${run.kind} ${run.from ?? '-'} → ${run.to}${run.running ? ` · running in worker pid ${run.pid ?? '?'} (closing the console does not stop it)` : ''}`,
		},
	];
	const {result} = run;
	if (result) {
		lines.push(
			result.success
				? {key: 'result', tone: 'good', bold: true, text: `✓ ${run.kind} to ${run.to} complete in ${(result.duration / 1000).toFixed(1)} s: release services run it and are healthy`}
				: {key: 'result', tone: 'bad', bold: true, text: `✗ ${run.kind} to ${run.to} FAILED: ${result.message ?? 'see the output'} — the stack is left as it is (no automatic retry)`},
		);
		// Up and healthy is not yet recovered: Verify is what comes next.
		if (result.success) lines.push({key: 'next', bold: true, text: 'Next: 6 Verify — health, smoke checks and the error rate over the window (esc, then step 6 and v; or rollback-console verify)', wrap: true});
	} else if (!run.running && finished) lines.push({key: 'noresult', tone: 'bad', text: '✗ the worker ended without a result: see its output'});
	const source =
		result && !result.success && result.logs.length > 0 ? [`last ${result.logs.length} log lines of ${result.failedService}:`, ...result.logs] : run.output.split('\n').filter(Boolean);
	const budget = Math.max(1, rows - lines.length);
	for (const [i, l] of source.slice(-budget).entries()) lines.push({key: `out-${i}`, tone: 'muted', text: `  ${safeText(l)}`});
	return lines;
}
