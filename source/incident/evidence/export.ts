import {randomBytes} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {copyFile, link, mkdir, open, readdir, rm, stat} from 'node:fs/promises';
import path from 'node:path';
import {textLines} from '../../engine/ci-log.js';
import {errorCode, isDiskFull, writeFileAtomic} from '../atomic-file.js';
import {newIncidentId} from '../layout.js';
import type {Operator} from '../operator.js';
import {addCounts, countTotal, type RedactionCounts} from '../redaction.js';
import {listFiles, resolveOut, sha256File, writeArchive} from './archive.js';
import {bundlesDir, type RecordEvent} from './capture.js';
import {choosePlace, mirrorCandidates, placeAfterDiskFull, type Place} from './location.js';
import {MANIFEST_FILE, readManifest} from './manifest.js';
import type {BundleFile} from './types.js';
import {writeContent} from './write-content.js';

export const EXPORT_FORMAT = 'rollback-console-export/1';
export const EXPORT_MANIFEST = 'export-manifest.json';

/** What export did to a file: capture files that were redacted when captured (and capture manifests) go in as they are. */
export type Treatment = 'as captured' | 'redacted on export' | 'copied (redaction off)' | 'binary, copied as is';

export interface ExportedFile {
	path: string;
	from: string;
	bytes: number;
	sha256: string;
	treatment: Treatment;
	redactions: RedactionCounts;
}

export interface ExportOptions {
	incident: {id: string; dir: string};
	project: string;
	/** The timeline as it is now (its tmpfs copy, when it fell back). */
	timelineFile: string;
	operator: Pick<Operator, 'user' | 'host' | 'sshConnection'>;
	record: RecordEvent;
	redact: boolean;
	extraPatterns: string[];
	out?: string | undefined;
	onNotice?: (text: string) => void;
	env?: NodeJS.ProcessEnv;
	now?: () => number;
	cwd?: string;
}

export interface ExportResult {
	bundle: BundleFile;
	files: ExportedFile[];
	redactions: RedactionCounts;
	/** The incident directories the files came from (the state dir's, and its tmpfs mirror). */
	sources: string[];
	fellBack: {from: string; to: string; reason: string} | null;
}

// Our own temp and lock leftovers, and the archives (the files they hold are exported themselves).
const skipped = (rel: string) => rel.split(path.sep)[0] === 'bundles' || /\.tmp-\d+-[0-9a-f]+$|\.stale-\d+-[0-9a-f]+$/.test(rel);

async function isBinary(file: string): Promise<boolean> {
	const handle = await open(file, 'r');
	try {
		const buffer = Buffer.alloc(8192);
		const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0);
		return buffer.subarray(0, bytesRead).includes(0);
	} finally {
		await handle.close();
	}
}

async function linkOrCopy(from: string, to: string): Promise<void> {
	await mkdir(path.dirname(to), {recursive: true, mode: 0o700});
	try {
		await link(from, to);
	} catch {
		// Another filesystem (the tmpfs mirror): copy.
		await copyFile(from, to);
	}
}

/** Whether each capture (evidence/<id>/) was redacted when it was taken. */
async function captureRedaction(sourceDir: string, rel: string, cache: Map<string, boolean>): Promise<boolean | null> {
	const parts = rel.split(path.sep);
	if (parts[0] !== 'evidence' || parts.length < 3) return null;
	const dir = path.join(sourceDir, parts[0], parts[1]!);
	if (!cache.has(dir)) cache.set(dir, await readManifest(dir).then(m => m.redaction.enabled === true, () => false));
	return cache.get(dir)!;
}

/**
 * The whole incident as one archive: timeline, every evidence capture, reports, worker
 * output. Files captured with redaction go in as they are (their manifests still verify);
 * everything else is redacted on the way out unless --no-redact. An `export-manifest.json`
 * lists every file with its sha256 and what was done to it.
 */
export async function exportIncident(options: ExportOptions): Promise<ExportResult> {
	const now = options.now ?? Date.now;
	const env = options.env ?? process.env;
	const stamp = newIncidentId(now());
	const name = `incident-${options.project}-${options.incident.id}`;
	const out = await resolveOut(options.out, `${name}-${stamp}.tar.gz`, options.cwd);

	// The incident may live in two places: the state dir, and the tmpfs mirror a full disk sent part of it to.
	const sources = [options.incident.dir];
	for (const mirror of mirrorCandidates(options.incident.dir, env)) {
		if (await stat(mirror).then(s => s.isDirectory(), () => false)) sources.push(mirror);
	}
	const chosen = new Map<string, {from: string; source: string}>();
	for (const source of sources) {
		for (const rel of await listFiles(source).catch(() => [] as string[])) {
			if (skipped(rel) || rel === 'timeline.jsonl') continue;
			chosen.set(rel, {from: path.join(source, rel), source});
		}
	}
	chosen.set('timeline.jsonl', {from: options.timelineFile, source: path.dirname(options.timelineFile)});

	let total = 0;
	for (const {from} of chosen.values()) total += await stat(from).then(s => s.size, () => 0);
	let place: Place = await choosePlace(options.incident.dir, total, env);
	if (place.fellBack) options.onNotice?.(`${place.reason}; staging the export in ${place.incidentDir} instead`);

	for (;;) {
		const staging = path.join(bundlesDir(place.incidentDir), `.export-${stamp}-${randomBytes(2).toString('hex')}`);
		try {
			const files = await stage(staging, chosen, options);
			const redactions: RedactionCounts = {};
			for (const file of files) addCounts(redactions, file.redactions);
			const manifest = {
				format: EXPORT_FORMAT,
				incident: options.incident.id,
				project: options.project,
				exportedAt: new Date(now()).toISOString(),
				host: options.operator.host,
				operator: {user: options.operator.user, ssh: options.operator.sshConnection},
				redaction: {enabled: options.redact, extraPatterns: options.extraPatterns.length, counts: redactions},
				sources,
				files,
			};
			await writeFileAtomic(path.join(staging, EXPORT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, {mode: 0o600});
			const bundle = await writeArchive({
				cwd: staging,
				entries: await readdir(staging),
				prefix: name,
				file: out ?? path.join(bundlesDir(place.incidentDir), `${name}-${stamp}.tar.gz`),
			});
			const fellBack = place.fellBack ? {from: place.intendedDir, to: place.incidentDir, reason: place.reason ?? ''} : null;
			try {
				await options.record(null, 'incident_exported', {
					bundle: bundle.file,
					sha256: bundle.sha256,
					bytes: bundle.bytes,
					files: files.length,
					redact: options.redact,
					redacted: {total: countTotal(redactions), ...redactions},
					fellBack,
				});
			} catch (error) {
				options.onNotice?.(`could not record the export in the timeline: ${(error as Error).message}`);
			}
			return {bundle, files, redactions, sources, fellBack};
		} catch (error) {
			const moved = out === null && isDiskFull(error) ? await placeAfterDiskFull(place, 'the export', errorCode(error) ?? 'ENOSPC', env) : null;
			if (!moved) throw error;
			place = moved;
			options.onNotice?.(`${moved.reason}; exporting to ${bundlesDir(moved.incidentDir)} instead`);
		} finally {
			await rm(staging, {recursive: true, force: true}).catch(() => {});
		}
	}
}

async function stage(staging: string, chosen: Map<string, {from: string; source: string}>, options: ExportOptions): Promise<ExportedFile[]> {
	await mkdir(staging, {recursive: true, mode: 0o700});
	const captures = new Map<string, boolean>();
	const files: ExportedFile[] = [];
	const signal = new AbortController().signal;
	for (const [rel, {from, source}] of [...chosen].sort(([a], [b]) => a.localeCompare(b))) {
		const to = path.join(staging, rel);
		const redactedThen = await captureRedaction(source, rel, captures);
		const captureManifest = redactedThen !== null && rel.split(path.sep).length === 3 && path.basename(rel) === MANIFEST_FILE;
		const asIs = redactedThen === true || captureManifest || !options.redact || (await isBinary(from));
		if (asIs) {
			await linkOrCopy(from, to);
			const treatment: Treatment = redactedThen === true || captureManifest ? 'as captured' : !options.redact ? 'copied (redaction off)' : 'binary, copied as is';
			files.push({path: rel, from, bytes: (await stat(to)).size, sha256: await sha256File(to), treatment, redactions: {}});
			continue;
		}
		const written = await writeContent(
			to,
			{lines: textLines(createReadStream(from) as AsyncIterable<Buffer>), capBytes: Number.POSITIVE_INFINITY, jsonPerLine: rel.endsWith('.jsonl')},
			{redact: true, redactOptions: {extraPatterns: options.extraPatterns}},
			signal,
		);
		if (written.error) throw new Error(`cannot read ${from}: ${written.error}`);
		files.push({path: rel, from, bytes: written.bytes, sha256: written.sha256, treatment: 'redacted on export', redactions: written.redactions});
	}
	return files;
}
