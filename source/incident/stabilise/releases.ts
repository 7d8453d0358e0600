import {createHash} from 'node:crypto';
import {join} from 'node:path';
// semver's functions one by one: its index loads all 47 of its files, on the console's start-up path.
import valid from 'semver/functions/valid.js';
import clean from 'semver/functions/clean.js';
import rcompare from 'semver/functions/rcompare.js';
import lt from 'semver/functions/lt.js';
import type {RepositoryImage} from '../../engine/types.js';
import type {GithubRelease} from '../../engine/github-releases.js';
import {appendLine, appendLines, readJsonLines} from '../atomic-file.js';
import {projectFiles} from '../layout.js';

/**
 * `<state>/<project>/releases.jsonl`: every release this box has seen, deployed, verified or
 * rolled back from, one line each, append-only. The candidates for a rollback are merged
 * from it, the registry's tags and the local images of the repository.
 */

/**
 * `preflight`: the release that ran, healthy, when a deploy replaced it (deploy's preflight,
 * step 4): the last known good when nothing was verified since.
 */
export type ReleaseEvent = 'seen' | 'deployed' | 'verified' | 'rolled_back' | 'preflight';

export interface ReleaseRecord {
	time: string;
	event: ReleaseEvent;
	tag: string;
	/** Repo digest per release service (null: the image was never pushed or pulled). */
	digests: Record<string, string | null>;
	imageIds: Record<string, string | null>;
	/** Per release service: its repository and image tag (records written before the release shapes lack it). */
	images?: Record<string, {repository: string; tag: string | null}>;
	/** The database's migration head at the time, once the Database step knows it. */
	migrationHead: string | null;
	operator: {user: string; ssh: string | null; pid: number} | null;
	incident?: string | null;
	/** Verify (step 6): the error lines per minute each release service ran with, the next verification's baseline. */
	errorBaseline?: {perMinute: Record<string, number>; windowMs: number} | null;
}

export const releasesFile = (projectStateDir: string) => projectFiles(projectStateDir).releases;

/**
 * The name of a release whose services' tags disagree (each service names its own image):
 * `set-` and 12 hex digits of its digests, the same for the same set. It is recorded like a
 * tag, so `--to set-…` brings that deployment back.
 */
export function setLabel(digests: Record<string, string>): string {
	const canonical = Object.keys(digests)
		.sort()
		.map(s => `${s}=${digests[s]}`)
		.join('\n');
	return `set-${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`;
}

export const isSetLabel = (tag: string) => /^set-[0-9a-f]{12}$/.test(tag);

const events = new Set<ReleaseEvent>(['seen', 'deployed', 'verified', 'rolled_back', 'preflight']);

export async function readReleases(file: string): Promise<ReleaseRecord[]> {
	const records = await readJsonLines<Partial<ReleaseRecord>>(file);
	return records.filter(
		(r): r is ReleaseRecord => typeof r.tag === 'string' && typeof r.time === 'string' && events.has(r.event as ReleaseEvent),
	);
}

export function appendRelease(file: string, record: ReleaseRecord): Promise<void> {
	return appendLine(file, JSON.stringify(record));
}

/** Several records in one write (and one fsync): a run's outcome lands whole or not at all. */
export function appendReleases(file: string, records: readonly ReleaseRecord[]): Promise<void> {
	return appendLines(file, records.map(r => JSON.stringify(r)));
}

/** A tag as SemVer ('v1.3.9' → '1.3.9'), or null for tags like 'latest' or 'main-4f2a'. */
export const semverOf = (tag: string): string | null => valid(clean(tag, {loose: true}) ?? '') ?? null;

export interface Candidate {
	tag: string;
	semver: string | null;
	/** Newest date known for the tag: its local image's creation, else its first record. */
	date: string | null;
	registry: {
		/** Null when the registry was not asked or did not answer. */
		present: boolean | null;
		digest: string | null;
	};
	local: {imageId: string; digest: string | null; created: string} | null;
	/** What releases.jsonl says; digests from the latest verified record, else the latest record. */
	recorded: {digests: Record<string, string | null>; imageIds: Record<string, string | null>; lastEvent: ReleaseEvent; lastTime: string} | null;
	/** Verified on this box, and not rolled back from since. */
	verified: boolean;
	verifiedAt: string | null;
	rolledBack: boolean;
	/** The last rollback away from this release since it was last verified: when, by whom, in which incident. */
	rolledBackFrom: {time: string; user: string | null; incident: string | null} | null;
	current: boolean;
	lastKnownGood: boolean;
	/** Why it is the last known good: verified here, or healthy when a deploy replaced it (its preflight). */
	lastKnownGoodFrom?: 'verified' | 'preflight';
	/** Verified with one digest, and the registry's tag points at another now. */
	repushed: boolean;
	/** The project's GitHub release of this tag, when x-rollback-console.release.github names the repository. */
	github?: {tag: string; name: string | null; publishedAt: string | null; note: string | null; url: string | null} | null;
}

export interface CandidateSources {
	records: readonly ReleaseRecord[];
	/** The registry's tags, or null when it was not asked / did not answer. */
	registryTags: readonly string[] | null;
	/** Registry digests of some tags (HEAD manifests). */
	registryDigests?: ReadonlyMap<string, string | null>;
	local: readonly RepositoryImage[];
	/** The tag running now; null when nothing runs. */
	currentTag: string | null;
	/** The service whose digest stands for the release when comparing with the registry. */
	primaryService?: string | null;
	/** The project's GitHub releases (their tags as written: `v1.3.9` matches an image tag `1.3.9` too). */
	github?: readonly GithubRelease[] | null;
}

/** The candidate tag a GitHub release stands for: the same tag, else the one with the same version. */
function githubTag(release: GithubRelease, tags: ReadonlySet<string>): string {
	if (tags.has(release.tag)) return release.tag;
	const version = semverOf(release.tag);
	if (version) for (const tag of tags) if (semverOf(tag) === version) return tag;
	return release.tag;
}

interface Verification {
	verifiedAt: string | null;
	rolledBack: Candidate['rolledBackFrom'];
}

/** Verified per tag: a verified record with no rolled_back after it. */
function verification(records: readonly ReleaseRecord[]): Map<string, Verification> {
	const result = new Map<string, Verification>();
	for (const r of records) {
		const entry = result.get(r.tag) ?? {verifiedAt: null, rolledBack: null};
		if (r.event === 'verified') {
			entry.verifiedAt = r.time;
			entry.rolledBack = null;
		} else if (r.event === 'rolled_back') {
			entry.rolledBack = {time: r.time, user: r.operator?.user ?? null, incident: r.incident ?? null};
		}
		result.set(r.tag, entry);
	}
	return result;
}

/** The last rollback away from `tag` since it was last verified, or null. */
export function rolledBackFrom(records: readonly ReleaseRecord[], tag: string): Candidate['rolledBackFrom'] {
	return verification(records.filter(r => r.tag === tag)).get(tag)?.rolledBack ?? null;
}

/** "rolled back from 2026-11-22 03:12 UTC by alice in incident 20261122-031200-ab12". */
export function rolledBackNote(c: Pick<Candidate, 'rolledBackFrom'>): string | null {
	const r = c.rolledBackFrom;
	if (!r) return null;
	return `rolled back from ${r.time.slice(0, 16).replace('T', ' ')} UTC${r.user ? ` by ${r.user}` : ''}${r.incident ? ` in incident ${r.incident}` : ''}`;
}

/** Newest first: SemVer tags by version, then the others by date. */
export function compareCandidates(a: Pick<Candidate, 'tag' | 'semver' | 'date'>, b: Pick<Candidate, 'tag' | 'semver' | 'date'>): number {
	if (a.semver && b.semver) return rcompare(a.semver, b.semver) || a.tag.localeCompare(b.tag);
	if (a.semver) return -1;
	if (b.semver) return 1;
	return (b.date ?? '').localeCompare(a.date ?? '') || a.tag.localeCompare(b.tag);
}

/** Whether `a` is an older release than `b` (SemVer when both are, else by date). */
function olderThan(a: Candidate, b: Candidate | null): boolean {
	if (!b) return true;
	if (a.semver && b.semver) return lt(a.semver, b.semver);
	if (a.date && b.date) return a.date < b.date;
	return false;
}

/** The rollback candidates, newest first, with the last known good marked. */
export function buildCandidates(sources: CandidateSources): Candidate[] {
	const tags = new Set<string>();
	for (const r of sources.records) tags.add(r.tag);
	for (const t of sources.registryTags ?? []) tags.add(t);
	for (const image of sources.local) for (const t of image.tags) tags.add(t);
	if (sources.currentTag) tags.add(sources.currentTag);
	const github = new Map<string, GithubRelease>();
	for (const release of sources.github ?? []) {
		const tag = githubTag(release, tags);
		if (!github.has(tag)) github.set(tag, release);
	}
	for (const tag of github.keys()) tags.add(tag);
	const verified = verification(sources.records);
	const candidates = [...tags].map((tag): Candidate => {
		const records = sources.records.filter(r => r.tag === tag);
		const lastVerified = records.findLast(r => r.event === 'verified');
		const last = records.at(-1);
		const reference = lastVerified ?? last;
		const image = sources.local.find(i => i.tags.includes(tag));
		const v = verified.get(tag);
		const registryDigest = sources.registryDigests?.get(tag) ?? null;
		const primary = sources.primaryService ?? (reference ? Object.keys(reference.digests).sort()[0] : undefined);
		const verifiedDigest = lastVerified && primary ? (lastVerified.digests[primary] ?? null) : null;
		const release = github.get(tag);
		return {
			tag,
			semver: semverOf(tag),
			date: image?.created ?? records[0]?.time ?? release?.publishedAt ?? null,
			registry: {present: sources.registryTags ? sources.registryTags.includes(tag) : null, digest: registryDigest},
			local: image ? {imageId: image.id, digest: image.digest, created: image.created} : null,
			recorded: reference
				? {digests: reference.digests, imageIds: reference.imageIds, lastEvent: last!.event, lastTime: last!.time}
				: null,
			verified: Boolean(v?.verifiedAt) && !v?.rolledBack,
			verifiedAt: v?.verifiedAt ?? null,
			rolledBack: Boolean(v?.rolledBack),
			rolledBackFrom: v?.rolledBack ?? null,
			current: tag === sources.currentTag,
			lastKnownGood: false,
			repushed: Boolean(verifiedDigest && registryDigest && verifiedDigest !== registryDigest),
			...(sources.github ? {github: release ? {tag: release.tag, name: release.name, publishedAt: release.publishedAt, note: release.note, url: release.url} : null} : {}),
		};
	});
	candidates.sort(compareCandidates);
	const current = candidates.find(c => c.current) ?? null;
	const good = candidates.find(c => c.verified && !c.current && olderThan(c, current));
	// Nothing verified: the release a deploy's preflight found running and healthy, not rolled back from since.
	const preflighted = good ? null : candidates.find(c => !c.current && !c.rolledBack && olderThan(c, current) && sources.records.some(r => r.tag === c.tag && r.event === 'preflight'));
	const chosen = good ?? preflighted;
	if (chosen) {
		chosen.lastKnownGood = true;
		chosen.lastKnownGoodFrom = good ? 'verified' : 'preflight';
	}
	return candidates;
}

export const lastKnownGood = (candidates: readonly Candidate[]): Candidate | null => candidates.find(c => c.lastKnownGood) ?? null;
