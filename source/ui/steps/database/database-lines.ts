import {basename} from 'node:path';
import type {DatabaseFacts} from '../../../incident/database/gather.js';
import type {DatabaseAction} from '../../../incident/database/plan.js';
import type {Plan} from '../../../incident/step-kit.js';
import {formatBytes} from '../../../presentation/format.js';
import type {Line} from '../../kit/line.js';

/** The Database step's body as lines: the database, the migrations with the boundary drawn, the flagged SQL, the backups, the plan. */

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

export function headLines(facts: DatabaseFacts): Line[] {
	const f = facts.found;
	if (!f) return facts.notes.map((n, i) => ({key: `note-${i}`, text: n, tone: 'warn', wrap: true}));
	const lines: Line[] = [
		{
			key: 'db',
			text: `${f.kind} in ${f.service}${f.container ? ` (${f.container.name})` : ''} · ${f.kind === 'sqlite' ? f.file : `${f.database} as ${f.user}`} · found by ${f.how}`,
			wrap: true,
		},
	];
	const m = facts.migrations;
	if (m) lines.push({key: 'table', text: `${m.table} (${m.tools}) · ${m.applied.length} applied · head ${m.head ?? 'none'}`});
	if (facts.target && facts.boundary) {
		lines.push({key: 'rule', text: `target ${facts.target.tag} · current ${facts.currentTag ?? '?'} · rule: ${facts.boundary.ruleText}`, tone: facts.boundary.rule === 'times' ? 'warn' : 'muted', wrap: true});
	}
	return lines;
}

export function migrationLines(facts: DatabaseFacts): Line[] {
	const m = facts.migrations;
	const b = facts.boundary;
	if (!m) return [];
	const lines: Line[] = [{key: 'mig-h', text: 'Migrations (oldest first)', bold: true}];
	const past = new Map((b?.past ?? []).map(p => [p.version, p]));
	// The target's head may be older than what is shown: show the last 12, and the boundary.
	const shown = m.applied.slice(-12);
	if (m.applied.length > shown.length) lines.push({key: 'mig-more', text: `  … ${m.applied.length - shown.length} older`, tone: 'muted'});
	if (b && b.targetHead === null && b.rule !== 'none' && shown.length > 0 && past.has(shown[0]!.version)) {
		lines.push({key: 'mig-b0', text: `  ── ${facts.target?.tag} ends here (before every migration) ──`, tone: 'warn'});
	}
	for (const a of shown) {
		const p = past.get(a.version);
		const flag = p ? (p.flagged === null ? 'SQL not readable' : p.flagged.length > 0 ? 'DESTRUCTIVE (heuristic)' : 'additive (heuristic)') : '';
		lines.push({key: `mig-${a.version}`, text: `${p ? '›' : ' '} ${a.version.padEnd(24)} ${when(a.appliedAt)}  ${flag}`, tone: p ? (p.flagged?.length ? 'bad' : 'warn') : 'plain'});
		if (b && a.version === b.targetHead) lines.push({key: `mig-b-${a.version}`, text: `  ── ${facts.target?.tag} ends here ──`, tone: 'warn'});
	}
	for (const p of b?.past ?? []) {
		for (const s of p.flagged ?? []) {
			lines.push({key: `sql-${p.version}-${s.line}`, text: `  ${p.file}:${s.line} ${s.rule}: ${s.statement}`, tone: 'bad', wrap: true});
		}
	}
	return lines;
}

export function backupLines(facts: DatabaseFacts): Line[] {
	if (!facts.found) return [];
	const lines: Line[] = [{key: 'bk-h', text: `Backups (${facts.backupDir})`, bold: true}];
	if (facts.backups.length === 0) lines.push({key: 'bk-none', text: '  none yet', tone: 'muted'});
	for (const x of facts.backups.slice(-6)) {
		lines.push({
			key: `bk-${x.path}`,
			text: `  ${when(x.time)}  ${(x.release ?? '-').padEnd(8)} head ${(x.migrationHead ?? '-').padEnd(16)} ${formatBytes(x.bytes).padStart(8)}  sha256 ${x.sha256.slice(0, 12)}  ${basename(x.path)}${x.present ? '' : ' (gone)'}`,
			tone: x.present ? 'plain' : 'muted',
		});
	}
	return lines;
}

export function planLines(plan: Plan<DatabaseAction>, cursor: number): Line[] {
	const lines: Line[] = [{key: 'plan-h', text: "Plan, in the runbooks' order", bold: true}];
	plan.actions.forEach((a, i) => {
		const selected = i === cursor;
		lines.push({key: `act-${a.id}`, text: `${selected ? '›' : ' '} ${i + 1}. ${a.title}${a.destructive ? '  [typed]' : ''}`, bold: selected, tone: a.destructive ? 'warn' : 'plain', wrap: true});
		if (selected) for (const [j, d] of a.does.entries()) lines.push({key: `act-${a.id}-${j}`, text: `      ${d}`, tone: 'muted', wrap: true});
	});
	for (const [i, w] of plan.warnings.entries()) lines.push({key: `warn-${i}`, text: `! ${w}`, tone: 'warn', wrap: true});
	return lines;
}
