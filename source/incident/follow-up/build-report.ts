// Gathers what report.md is built from (the timeline, the capture's files, the releases'
// links) and writes it: temp file + rename, mode 0600, in the incident and optionally --out.
import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import {writeFileAtomic} from '../atomic-file.js';
import {incidentFiles} from '../incident-store.js';
import type {TimelineEvent} from '../timeline.js';
import {chooseCapture, readCapturedFacts} from './captured-facts.js';
import {releaseLinks, type LinkSources} from './release-links.js';
import {renderReport, reportFacts, type ReportFacts} from './report.js';

export interface BuiltReport {
	facts: ReportFacts;
	markdown: string;
}

export async function buildReport(options: {
	incident: {id: string; project: string};
	events: readonly TimelineEvent[];
	links: LinkSources;
	now?: string;
	/** Written as the incident closes: `now` is its close time. */
	closing?: boolean;
}): Promise<BuiltReport> {
	const chosen = chooseCapture(options.events);
	const [capture, links] = await Promise.all([chosen ? readCapturedFacts(chosen) : null, releaseLinks(options.events, options.links)]);
	const facts = reportFacts({incident: options.incident, events: options.events, capture, links, now: options.now ?? new Date().toISOString(), closing: options.closing ?? false});
	return {facts, markdown: renderReport(facts)};
}

/** A copy of the report in `outDir` (report-<id>.md, 0600). */
export async function writeReportCopy(outDir: string, id: string, markdown: string): Promise<string> {
	await mkdir(outDir, {recursive: true, mode: 0o700});
	const copy = path.join(path.resolve(outDir), `report-${id}.md`);
	await writeFileAtomic(copy, markdown, {mode: 0o600});
	return copy;
}

/** Writes report.md into the incident (and a copy into `outDir` when given); returns the paths. */
export async function writeReport(incidentDir: string, id: string, markdown: string, outDir?: string | null): Promise<{file: string; copy: string | null}> {
	const file = incidentFiles(incidentDir).report;
	await writeFileAtomic(file, markdown, {mode: 0o600});
	return {file, copy: outDir ? await writeReportCopy(outDir, id, markdown) : null};
}
