// What an evidence capture saw of the containers, read back from its files for the report:
// each container's state (inspect.json) and the error lines of its log (log.txt).
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import type {TimelineEvent} from '../timeline.js';
import type {CapturedContainer, CapturedFacts, ErrorLine} from './report.js';

const errorWords = /\b(panic|fatal|error|exception|traceback|segmentation|sigsegv|failed|failure|critical|oom)\b|level=(error|fatal|crit)/i;
const quiet = /level=(info|debug|trace)\b/i;

/** Error lines of a captured log (`TIME STREAM TEXT` per line), counted, most frequent first. */
export function errorLines(log: string, limit = 10): ErrorLine[] {
	const seen = new Map<string, ErrorLine>();
	for (const raw of log.split('\n')) {
		const match = /^(\S+) (stdout|stderr) (.*)$/.exec(raw);
		const time = match ? (match[1] === '-' ? null : match[1]!) : null;
		const text = (match ? match[3]! : raw).trim();
		if (!text || !errorWords.test(text) || quiet.test(text)) continue;
		// Lines differing only by a timestamp or a number count as the same line.
		const key = text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, '').replace(/\d+/g, 'N');
		const found = seen.get(key);
		if (found) found.count++;
		else seen.set(key, {text: text.slice(0, 200), count: 1, first: time});
	}
	return [...seen.values()].sort((a, b) => b.count - a.count || (a.first ?? '').localeCompare(b.first ?? '')).slice(0, limit);
}

interface Inspect {
	Name?: string;
	Created?: string;
	State?: {Status?: string; ExitCode?: number; StartedAt?: string; FinishedAt?: string; OOMKilled?: boolean; Restarting?: boolean};
	RestartCount?: number;
	Config?: {Labels?: Record<string, string>};
}

const realTime = (t: string | undefined) => (t && !t.startsWith('0001-') ? t : null);

/** The capture the report describes: the last one before the first rollback (closest to the failure), else the last. */
export function chooseCapture(events: readonly TimelineEvent[]): {captureId: string; dir: string; time: string} | null {
	const captures = events.filter(e => e.type === 'evidence_capture_complete' && typeof e.data['dir'] === 'string');
	const rollback = events.find(e => e.type === 'rollback_start');
	const before = rollback ? captures.filter(e => e.seq < rollback.seq) : captures;
	const pick = before.at(-1) ?? captures.at(-1);
	return pick ? {captureId: String(pick.data['captureId']), dir: String(pick.data['dir']), time: pick.time} : null;
}

/** Reads a capture's containers; a file missing or unreadable leaves that container out. */
export async function readCapturedFacts(capture: {captureId: string; dir: string; time: string}): Promise<CapturedFacts> {
	let manifest: {items?: Array<{id: string; file: string; ok: boolean}>};
	try {
		manifest = JSON.parse(await readFile(path.join(capture.dir, 'manifest.json'), 'utf8')) as typeof manifest;
	} catch {
		return {captureId: capture.captureId, time: capture.time, containers: []};
	}
	const items = manifest.items ?? [];
	const containers: CapturedContainer[] = [];
	const dies = await lastExitCodes(capture.dir, items);
	for (const item of items.filter(i => i.ok && i.id.startsWith('container-inspect:'))) {
		const name = item.id.slice('container-inspect:'.length);
		let inspect: Inspect;
		try {
			inspect = JSON.parse(await readFile(path.join(capture.dir, item.file), 'utf8')) as Inspect;
		} catch {
			continue;
		}
		const logItem = items.find(i => i.ok && i.id === `container-log:${name}`);
		const log = logItem ? await readFile(path.join(capture.dir, logItem.file), 'utf8').catch(() => '') : '';
		const state = inspect.State ?? {};
		const restarts = inspect.RestartCount ?? 0;
		// Caught running between two crashes, Docker says exit 0: the last `die` event tells the crash's code.
		const between = state.Status === 'running' && restarts > 0;
		const died = dies.get(name) ?? null;
		containers.push({
			name,
			service: inspect.Config?.Labels?.['com.docker.compose.service'] ?? name,
			state: state.Restarting ? 'restarting' : between ? 'crash-looping (running between restarts)' : (state.Status ?? 'unknown'),
			exitCode: between || (state.ExitCode === 0 && died !== null) ? died : typeof state.ExitCode === 'number' ? state.ExitCode : null,
			restartCount: restarts,
			oomKilled: state.OOMKilled === true,
			createdAt: realTime(inspect.Created),
			startedAt: realTime(state.StartedAt),
			finishedAt: realTime(state.FinishedAt),
			errors: errorLines(log),
		});
	}
	return {captureId: capture.captureId, time: capture.time, containers};
}

/** Each container's last `die` exit code, from the capture's Engine events. */
async function lastExitCodes(dir: string, items: ReadonlyArray<{id: string; file: string; ok: boolean}>): Promise<Map<string, number>> {
	const codes = new Map<string, number>();
	const item = items.find(i => i.ok && i.id === 'engine-events');
	if (!item) return codes;
	const text = await readFile(path.join(dir, item.file), 'utf8').catch(() => '');
	for (const line of text.split('\n')) {
		if (!line.includes('"die"')) continue;
		try {
			const event = JSON.parse(line) as {Action?: string; status?: string; Actor?: {Attributes?: Record<string, string>}};
			const attributes = event.Actor?.Attributes ?? {};
			if ((event.Action ?? event.status) !== 'die' || !attributes['name']) continue;
			const code = Number(attributes['exitCode']);
			if (Number.isInteger(code)) codes.set(attributes['name'], code);
		} catch {
			// A torn line: skipped.
		}
	}
	return codes;
}
