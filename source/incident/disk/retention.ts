// semver's functions one by one: its index loads all 47 of its files, on the console's start-up path.
import rcompare from 'semver/functions/rcompare.js';
import gt from 'semver/functions/gt.js';
import type {ImageTemplate} from '../stabilise/release-services.js';
import {valueFor} from '../stabilise/release-services.js';
import {buildCandidates, lastKnownGood, semverOf, type ReleaseRecord} from '../stabilise/releases.js';

/**
 * Which release images the Disk step must never remove, from releases.jsonl: the current
 * release, the last known good and the last N verified releases, matched by digest (a tag
 * re-pushed since it was verified still keeps the verified content), by image ID and by tag.
 * Read-only over the Stabilise step's records: nothing here writes them.
 */

export interface Retention {
	/** The compose project these releases belong to. */
	project: string;
	/** The release services' repositories: the only repositories whose images a prune may remove. */
	repositories: string[];
	/** How a repository's image tags map to release values (`repo:release-${TAG}`). */
	templates: Record<string, Pick<ImageTemplate, 'tagPrefix' | 'tagSuffix'>>;
	current: string | null;
	/** The release the Compose file names now (the tag variable's value), when it differs from what runs. */
	configured: string | null;
	lastKnownGood: string | null;
	/** The last N verified releases, newest first. */
	verified: string[];
	/** Every release kept, with why, newest first. */
	kept: Array<{tag: string; reason: string}>;
	/** `repo@sha256:…` → why. */
	digests: Map<string, string>;
	/** Image ID → why. */
	imageIds: Map<string, string>;
	/** Release value → why. */
	tags: Map<string, string>;
	/** Service → its repository, to read the records' per-service digests. */
	serviceRepositories: Record<string, string>;
	/** How many verified releases are kept (x-rollback-console.disk.retain_releases). */
	retain: number;
	/** Releases rolled back from (and not verified since): never kept as "newer than current". */
	rolledBack: Set<string>;
}

export interface RetentionInput {
	project: string;
	records: readonly ReleaseRecord[];
	/** Release service → its image template. */
	templates: Record<string, ImageTemplate>;
	/** The release running now (from the containers), if any. */
	currentTag: string | null;
	/** The release the Compose file names now, if any. */
	configuredTag: string | null;
	retain: number;
}

export function computeRetention(input: RetentionInput): Retention {
	const {records, retain, project} = input;
	const current = input.currentTag ?? input.configuredTag;
	const candidates = buildCandidates({records, registryTags: null, local: [], currentTag: current});
	const good = lastKnownGood(candidates);
	const verified = candidates.filter(c => c.verified && !c.current).slice(0, retain).map(c => c.tag);
	const reasons = new Map<string, string>();
	const keep = (tag: string | null, reason: string) => {
		if (tag && !reasons.has(tag)) reasons.set(tag, reason);
	};
	keep(input.currentTag, `the current release ${input.currentTag}`);
	keep(input.configuredTag, `the release the Compose file names now (${input.configuredTag})`);
	keep(good?.tag ?? null, `the last known good release ${good?.tag}`);
	for (const tag of verified) keep(tag, `verified release ${tag} (one of the last ${retain} verified)`);

	const serviceRepositories: Record<string, string> = {};
	const templates: Retention['templates'] = {};
	for (const [service, template] of Object.entries(input.templates)) {
		serviceRepositories[service] = template.repository;
		templates[template.repository] ??= {tagPrefix: template.tagPrefix, tagSuffix: template.tagSuffix};
	}
	const digests = new Map<string, string>();
	const imageIds = new Map<string, string>();
	for (const record of records) {
		const reason = reasons.get(record.tag);
		if (!reason) continue;
		for (const [service, digest] of Object.entries(record.digests ?? {})) {
			const repository = serviceRepositories[service];
			if (repository && digest && !digests.has(`${repository}@${digest}`)) digests.set(`${repository}@${digest}`, `${reason}, by digest`);
		}
		for (const id of Object.values(record.imageIds ?? {})) if (id && !imageIds.has(id)) imageIds.set(id, `${reason}, by image ID`);
	}
	const kept = [...reasons].map(([tag, reason]) => ({tag, reason}));
	kept.sort((a, b) => newestFirst(a.tag, b.tag));
	return {
		project,
		repositories: Object.keys(templates).sort(),
		templates,
		current: input.currentTag ?? input.configuredTag,
		configured: input.configuredTag !== input.currentTag ? input.configuredTag : null,
		lastKnownGood: good?.tag ?? null,
		verified,
		kept,
		digests,
		imageIds,
		tags: reasons,
		serviceRepositories,
		retain,
		rolledBack: new Set(candidates.filter(c => c.rolledBack && !c.verified).map(c => c.tag)),
	};
}

function newestFirst(a: string, b: string): number {
	const [sa, sb] = [semverOf(a), semverOf(b)];
	if (sa && sb) return rcompare(sa, sb);
	if (sa) return -1;
	if (sb) return 1;
	return a.localeCompare(b);
}

/** The release value an image tag of `repository` stands for, or null when it does not fit the template. */
export function releaseValue(retention: Retention, repository: string, imageTag: string): string | null {
	const template = retention.templates[repository];
	return template ? valueFor({...template, service: '', raw: '', repository}, imageTag) : null;
}

/**
 * Why an image of one of the retention's repositories must stay, or null. `refs` are the
 * image's tags and digests in that repository (`repo:tag`, `repo@sha256:…`).
 */
export function keepReason(retention: Retention, image: {id: string; repoTags: string[]; repoDigests: string[]}, repository: string): string | null {
	for (const ref of image.repoDigests) {
		const reason = retention.digests.get(ref);
		if (reason) return reason;
	}
	const byId = retention.imageIds.get(image.id);
	if (byId) return byId;
	const values = image.repoTags
		.filter(t => t.startsWith(`${repository}:`))
		.map(t => releaseValue(retention, repository, t.slice(repository.length + 1)))
		.filter((v): v is string => v !== null);
	for (const value of values) {
		const reason = retention.tags.get(value);
		if (reason) return `${reason}, by tag`;
	}
	// A release newer than the one running is likely the next deploy, pulled ahead.
	const current = retention.current ? semverOf(retention.current) : null;
	for (const value of values) {
		const version = semverOf(value);
		if (current && version && gt(version, current) && !retention.rolledBack.has(value)) return `${value} is newer than the current release ${retention.current} (perhaps the next deploy)`;
	}
	return null;
}

/** Why an image that retention does not keep may go, for the plan line. */
export function removableReason(retention: Retention, records: readonly ReleaseRecord[], image: {repoTags: string[]}, repository: string): string {
	const values = image.repoTags
		.filter(t => t.startsWith(`${repository}:`))
		.map(t => releaseValue(retention, repository, t.slice(repository.length + 1)) ?? t.slice(repository.length + 1));
	const tag = values[0];
	if (!tag) return `an untagged image of ${repository} that no kept release records`;
	const verified = records.findLast(r => r.tag === tag && r.event === 'verified');
	const rolledBack = records.some(r => r.tag === tag && r.event === 'rolled_back' && (!verified || r.time > verified.time));
	if (rolledBack) return `release ${tag}: rolled back from, not kept`;
	if (verified) return `release ${tag}: verified ${verified.time.slice(0, 10)}, older than the last ${retention.retain} verified`;
	if (records.some(r => r.tag === tag)) return `release ${tag}: never verified on this box`;
	return `${tag}: no record of it as a release on this box`;
}
