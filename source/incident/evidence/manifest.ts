import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {writeFileAtomic} from '../atomic-file.js';
import {addCounts, REDACTION_RULES, type RedactionCounts} from '../redaction.js';
import {listFiles, sha256File} from './archive.js';
import {MANIFEST_FORMAT, type Manifest, type ManifestItem} from './types.js';

export const MANIFEST_FILE = 'manifest.json';

export interface ManifestHead {
	captureId: string;
	project: string;
	incident: string;
	host: string;
	operator: Manifest['operator'];
	startedAt: string;
	redact: boolean;
	extraPatterns: number;
	logCapBytes: number;
	location: Manifest['location'];
}

/** The manifest for `items` so far; `complete` only when every item has been written. */
export function buildManifest(head: ManifestHead, items: ManifestItem[], complete: boolean, endedAt: string | null): Manifest {
	const counts: RedactionCounts = {};
	for (const item of items) addCounts(counts, item.redactions);
	return {
		format: MANIFEST_FORMAT,
		complete,
		captureId: head.captureId,
		project: head.project,
		incident: head.incident,
		host: head.host,
		operator: head.operator,
		startedAt: head.startedAt,
		endedAt,
		redaction: {enabled: head.redact, rules: head.redact ? REDACTION_RULES : [], extraPatterns: head.extraPatterns, counts},
		logCapBytes: head.logCapBytes,
		location: head.location,
		items,
		summary: {
			items: items.length,
			ok: items.filter(i => i.ok).length,
			failed: items.filter(i => !i.ok).length,
			truncated: items.filter(i => i.truncated).length,
			bytes: items.reduce((sum, i) => sum + i.bytes, 0),
		},
	};
}

/** Written whole (temp + rename): a reader sees the old manifest or the new one. */
export function writeManifest(dir: string, manifest: Manifest): Promise<void> {
	return writeFileAtomic(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, {mode: 0o600});
}

export async function readManifest(dir: string): Promise<Manifest> {
	return JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
}

export interface Verification {
	ok: boolean;
	problems: string[];
}

/**
 * Checks a capture directory against its manifest: complete, every listed file there with
 * its sha256 and size, and no file the manifest does not list.
 */
export async function verifyCapture(dir: string): Promise<Verification> {
	const problems: string[] = [];
	let manifest: Manifest;
	try {
		manifest = await readManifest(dir);
	} catch (error) {
		return {ok: false, problems: [`${MANIFEST_FILE}: ${(error as Error).message}`]};
	}
	if (manifest.format !== MANIFEST_FORMAT) problems.push(`${MANIFEST_FILE}: unknown format ${String(manifest.format)}`);
	if (!manifest.complete) problems.push(`${MANIFEST_FILE}: the capture is not complete (interrupted?)`);
	const listed = new Map(manifest.items.filter(i => i.sha256 !== null).map(i => [i.file, i]));
	for (const file of await listFiles(dir)) {
		if (file === MANIFEST_FILE) continue;
		const item = listed.get(file);
		if (!item) {
			problems.push(`${file}: not in the manifest`);
			continue;
		}
		listed.delete(file);
		const sha256 = await sha256File(path.join(dir, file));
		if (sha256 !== item.sha256) problems.push(`${file}: sha256 ${sha256} does not match the manifest's ${item.sha256}`);
	}
	for (const file of listed.keys()) problems.push(`${file}: in the manifest but missing`);
	return {ok: problems.length === 0, problems};
}
