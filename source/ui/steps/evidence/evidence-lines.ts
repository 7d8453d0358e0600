// What the Evidence step draws, as lines for StepFrame, and how a capture's progress
// advances the running view: pure, from the plan, the progress and the result.
import type {CaptureProgress, CaptureResult, EvidencePlanView, ItemGroup, PlannedItem} from '../../../incident/evidence/types.js';
import {formatMiB} from '../../../incident/evidence/write-content.js';
import {countTotal, type RedactionCounts} from '../../../incident/redaction.js';
import {formatBytes} from '../../../presentation/format.js';
import {progressBar} from '../../../presentation/progress.js';
import {plural} from '../../../presentation/text.js';
import type {Line} from '../../kit/line.js';

export interface RunState {
	started: number;
	total: number;
	finished: number;
	bytes: number;
	running: PlannedItem[];
	failed: Array<{file: string; error: string}>;
}

export const when = (iso: string) => `${iso.slice(11, 16)} UTC`;

export function countsText(counts: RedactionCounts): string {
	const entries = Object.entries(counts).filter(([, n]) => (n ?? 0) > 0);
	return entries.length === 0 ? '' : ` (${entries.map(([rule, n]) => `${rule} ${n}`).join(', ')})`;
}

/** What each group of items is, in a line. */
function groupLine(group: ItemGroup, plan: EvidencePlanView, count: number): string {
	switch (group) {
		case 'compose':
			return 'compose: the resolved config, ps, version';
		case 'container':
			return `${plural(plan.containers, 'container')}: inspect, health-check history, full log with timestamps (newest ${formatMiB(plan.logCapBytes)} each)`;
		case 'image':
			return `${plural(plan.images, 'image')} in use: inspect (ID, repo digests, created)`;
		case 'engine':
			return 'engine: events of the last 24 h, info, version, disk usage (system df)';
		case 'host':
			return "host: hostname, kernel, uptime, load, memory, disk usage of / and Docker's root";
		case 'health':
			return `${plural(plan.healthUrls, 'health URL')}: their responses now`;
		case 'incident':
			return 'the incident timeline so far';
		case 'ci':
			return `the CI log: ${plan.ciLog ?? `${count} item`}`;
	}
}

const groupOrder: ItemGroup[] = ['compose', 'container', 'image', 'engine', 'host', 'health', 'incident', 'ci'];

export function planLines(plan: EvidencePlanView): Line[] {
	const lines: Line[] = [];
	const estimate = `about ${formatBytes(plan.estimateBytes)}${plan.estimateIncomplete ? ' or more' : ''}`;
	lines.push({key: 'will', bold: true, text: `Will collect ${plural(plan.items.length, 'item')}, ${estimate}:`});
	for (const group of groupOrder) {
		const count = plan.items.filter(item => item.group === group).length;
		if (count > 0) lines.push({key: `group-${group}`, text: `  · ${groupLine(group, plan, count)}`});
	}
	if (!plan.items.some(item => item.group === 'health')) lines.push({key: 'no-health', tone: 'muted', text: '  · no health URL configured (x-rollback-console.health)'});
	if (!plan.items.some(item => item.group === 'ci')) lines.push({key: 'no-ci', tone: 'muted', text: '  · no CI log (headless: rollback-console capture --ci-log FILE|URL)'});
	return lines;
}

export function resultLines(result: CaptureResult, ms: number): Line[] {
	const {manifest, bundle} = result;
	const {summary} = manifest;
	const lines: Line[] = [
		{
			key: 'result',
			tone: summary.failed > 0 ? 'warn' : 'good',
			bold: true,
			text: `${summary.failed > 0 ? '!' : '✓'} Captured ${summary.ok} of ${plural(summary.items, 'item')}, ${formatBytes(summary.bytes)}, in ${(ms / 1000).toFixed(1)} s${summary.failed > 0 ? ` · ${summary.failed} failed` : ''}`,
		},
	];
	if (result.fellBack) lines.push({key: 'fell-back', tone: 'warn', text: `The state dir's disk is full (${result.fellBack.reason}): everything went to ${result.fellBack.to} (tmpfs: lost on reboot; copy it off the box)`});
	for (const item of manifest.items.filter(i => !i.ok)) lines.push({key: `failed-${item.id}`, tone: 'bad', text: `  ✗ ${item.file}: ${item.error}`});
	for (const item of manifest.items.filter(i => i.truncated)) lines.push({key: `cut-${item.id}`, tone: 'muted', text: `  ✂ ${item.file}: ${item.note}`});
	const counts = manifest.redaction.counts;
	lines.push({key: 'redacted', text: `Redacted ${plural(countTotal(counts), 'value')}${countsText(counts)}`});
	lines.push({key: 'bundle', bold: true, wrap: true, text: `Bundle  ${bundle.file} (${formatBytes(bundle.bytes)})`});
	lines.push({key: 'sha', text: `sha256  ${bundle.sha256}  (${bundle.sidecar.split('/').at(-1)} beside it)`});
	lines.push({key: 'files', tone: 'muted', text: `Files   ${result.dir}/ (manifest.json says how each was collected)`});
	return lines;
}

export function runLines(run: RunState, columns: number, now: number): Line[] {
	const width = Math.max(10, Math.min(40, columns - 60));
	const lines: Line[] = [
		{
			key: 'bar',
			bold: true,
			text: `Capturing ${progressBar(run.finished, run.total, width)} ${run.finished}/${run.total} items · ${formatBytes(run.bytes)} · ${Math.max(0, Math.round((now - run.started) / 1000))} s`,
		},
	];
	for (const item of run.running) lines.push({key: `run-${item.id}`, tone: 'muted', text: `  … ${item.what}`});
	for (const [i, failed] of run.failed.entries()) lines.push({key: `fail-${i}`, tone: 'bad', text: `  ✗ ${failed.file}: ${failed.error}`});
	return lines;
}

export function advance(run: RunState | null, p: CaptureProgress): RunState | null {
	if (!run) return run;
	if (p.state === 'running') return {...run, total: p.total, running: [...run.running, p.item]};
	return {
		...run,
		total: p.total,
		finished: p.finished,
		bytes: run.bytes + p.bytes,
		running: run.running.filter(item => item.id !== p.item.id),
		failed: p.state === 'failed' ? [...run.failed, {file: p.item.file, error: p.error ?? 'failed'}] : run.failed,
	};
}
