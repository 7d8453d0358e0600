// What the Disk step draws, as lines for StepFrame: pure, from the report and the cursor.
import type {DiskAction, DiskReport, FsReport} from '../../../incident/disk/plan.js';
import type {DiskActionResult, DiskPruneResult} from '../../../incident/disk/run.js';
import {actionVerbs, clip, clipName, formatPercent, usageBar} from '../../../presentation/disk-format.js';
import {formatBytes} from '../../../presentation/format.js';
import {plural} from '../../../presentation/text.js';
import type {Line} from '../../kit/line.js';

const fsName: Record<FsReport['label'], string> = {root: '/', docker: 'docker', state: 'state'};

/** Usage against the threshold, Docker's breakdown, the largest logs and the plan's (or the kept list's) heading. */
export function headLines(report: DiskReport, view: {showKept: boolean; refreshing: boolean}): Line[] {
	const lines: Line[] = [];
	for (const f of report.filesystems) {
		const label = `${fsName[f.label].padEnd(6)} ${clip(f.path, 22).padEnd(22)} `;
		if (f.sameAs) {
			lines.push({key: `fs-${f.label}`, text: `${label}same filesystem as ${report.filesystems.find(x => x.label === f.sameAs)?.path}`});
			continue;
		}
		const usage = `${usageBar(f.usedPercent, report.thresholdPercent, 20)} ${formatPercent(f.usedPercent).padStart(4)}  ${formatBytes(f.free)} free of ${formatBytes(f.size)}`;
		lines.push({key: `fs-${f.label}`, tone: f.over ? 'bad' : 'plain', text: `${label}${usage}${f.over ? ` over ${report.thresholdPercent}%` : ''}`});
	}
	const d = report.docker;
	lines.push({
		key: 'df',
		tone: 'muted',
		text: `Docker: images ${formatBytes(d.images.size)} (${formatBytes(d.images.reclaimable)} reclaimable) · containers ${formatBytes(d.containers.size)} · volumes ${formatBytes(d.volumes.size)} · build cache ${formatBytes(d.buildCache.size)}`,
	});
	const logs = report.logs.slice(0, 3).map(l => `${l.container} ${formatBytes(l.allocated)}`);
	lines.push({key: 'logs', tone: 'muted', text: logs.length > 0 ? `Largest logs: ${logs.join(' · ')}` : 'Largest logs: none readable'});
	const {plan} = report;
	if (view.showKept) {
		lines.push({key: 'plan', bold: true, text: `Kept, and why · ${plan.protected.length} items · k: back to the plan`});
		return lines;
	}
	const safe = plan.actions.filter(a => a.safe);
	const optional = plan.actions.length - safe.length;
	lines.push({
		key: 'plan',
		bold: true,
		tone: safe.length > 0 ? 'good' : 'plain',
		text: [
			`Plan ${safe.length > 0 ? `${safe.length} safe (about ${formatBytes(plan.estimate.safe)})` : 'nothing safe to remove'}`,
			optional > 0 ? ` · ${optional} need a typed confirmation (about ${formatBytes(plan.estimate.optional)})` : '',
			` · ${plan.protected.length} kept (k)`,
			view.refreshing ? ' · refreshing…' : '',
		].join(''),
	});
	return lines;
}

function resultText(r: DiskActionResult): string {
	if (!r.ok) return `✗ ${r.error ?? 'failed'}`;
	return `✓ freed ${formatBytes(r.bytesFreed)}${r.measuredBy === 'estimate' ? ' (estimated)' : ''}`;
}

/** The plan's actions, `rows` of them, scrolled so the cursor shows. */
export function actionLines(actions: readonly DiskAction[], at: number, rows: number, results: ReadonlyMap<string, DiskActionResult>, width: number): Line[] {
	if (actions.length === 0) return [{key: 'empty', tone: 'muted', text: '  nothing to remove safely · k: what is kept, and why'}];
	const first = Math.max(0, Math.min(at - rows + 1, actions.length - rows));
	return actions.slice(first, first + rows).map((a, i) => {
		const index = first + i;
		const result = results.get(a.id);
		const head = `${index === at ? '›' : ' '} ${(actionVerbs[a.kind] ?? a.kind).padEnd(17)} ${clipName(a.kind, a.name, 28).padEnd(28)} ${formatBytes(a.bytes).padStart(8)}  `;
		const marks = `${a.typed ? 'typed · ' : ''}${result ? `${resultText(result)} · ` : ''}`;
		const tone = result ? (result.ok ? 'good' : 'bad') : index === at ? 'warn' : 'plain';
		return {key: a.id, tone, bold: index === at, text: `${head}${marks}${clip(a.detail, Math.max(10, width - head.length - marks.length))}`};
	});
}

/** What is kept and why, two lines an item (the reason is the point of this view), from `offset`. */
export function keptLines(report: DiskReport, offset: number, rows: number): Line[] {
	const items = report.plan.protected;
	const fit = Math.max(1, Math.floor(rows / 2));
	const first = Math.min(offset, Math.max(0, items.length - fit));
	return items.slice(first, first + fit).flatMap(item => [
		{key: `kept-${item.kind}-${item.target}`, text: `  ${item.kind.padEnd(9)} ${clipName(item.kind, item.name, 48).padEnd(48)} ${formatBytes(item.bytes).padStart(8)}`},
		{key: `why-${item.kind}-${item.target}`, tone: 'muted' as const, text: `            ${item.reason}`},
	]);
}

/** The last run in one line. */
export function lastRunText(last: DiskPruneResult): string {
	const free = last.before !== null && last.after !== null ? `; free ${formatBytes(last.before)} → ${formatBytes(last.after)}` : '';
	return `Last run: ${plural(last.results.length, 'action')}, freed ${formatBytes(last.freedBytes)} (estimate ${formatBytes(last.estimate)})${free}${last.failed > 0 ? `; ${last.failed} failed` : ''}`;
}
