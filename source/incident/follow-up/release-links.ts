// "Link the failed release" and "confirm the rolled-back release passed CI": the from- and
// to-releases of the incident's rollback with the commit their image says it was built from
// (org.opencontainers.image.revision), their GitHub release pages, and the commit's CI.
import {commitChecks, type CommitChecks, type GitHubTarget} from '../../engine/github.js';
import {expandVariables} from '../../engine/health-probe-types.js';
import type {TimelineEvent} from '../timeline.js';
import {foldCiStatus, type CiStatus} from './ci-status.js';
import type {NotifySettings} from './notify-settings.js';
import type {ReleaseLink} from './report.js';

export const REVISION_LABEL = 'org.opencontainers.image.revision';

export interface LinkSources {
	/** GET /images/{ref}/json (raw); null when the image is not on the box. */
	inspectImage?: ((reference: string) => Promise<Record<string, unknown> | null>) | null;
	github: NotifySettings['github'] | null;
	env?: NodeJS.ProcessEnv;
	/** Replaceable in tests. */
	checks?: (target: GitHubTarget, sha: string) => Promise<CommitChecks>;
	signal?: AbortSignal;
}

/** The CI status of one commit, folded; "unknown" with the reason when it cannot be told. */
export async function ciStatus(github: NonNullable<NotifySettings['github']>, sha: string, sources: Pick<LinkSources, 'env' | 'checks' | 'signal'> = {}): Promise<CiStatus> {
	const env = sources.env ?? process.env;
	const target: GitHubTarget = {apiUrl: expandVariables(github.apiUrl, env), repo: github.repo, token: env[github.tokenEnv] || null, timeoutMs: github.timeoutMs, retries: 1};
	const read = await (sources.checks ?? ((t, s) => commitChecks(t, s, sources.signal)))(target, sha);
	const url = github.webUrl ? `${github.webUrl}/${github.repo}/commit/${sha}` : null;
	if (!read.found) return {state: 'unknown', detail: `no such commit ${sha.slice(0, 12)} in ${github.repo}`, url: null};
	if (read.error) return {state: 'unknown', detail: read.error, url};
	return {...foldCiStatus(read.combined, read.checkRuns), url};
}

type Side = {tag: string | null; reference: string | null; imageId: string | null};

function sides(events: readonly TimelineEvent[]): {from: Side; to: Side} | null {
	const start = events.findLast(e => e.type === 'rollback_start');
	if (!start) return null;
	const first = (Array.isArray(start.data['services']) ? (start.data['services'] as Array<Record<string, Record<string, unknown>>>) : [])[0];
	const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
	return {
		from: {tag: str(start.data['from']), reference: null, imageId: str(first?.['from']?.['imageId'])},
		to: {tag: str(start.data['to']), reference: str(first?.['to']?.['reference']), imageId: str(first?.['to']?.['imageId'])},
	};
}

async function revisionOf(side: Side, inspect: LinkSources['inspectImage']): Promise<string | null> {
	if (!inspect) return null;
	for (const ref of [side.imageId, side.reference]) {
		if (!ref) continue;
		const raw = await inspect(ref).catch(() => null);
		const labels = (raw?.['Config'] as {Labels?: Record<string, string> | null} | undefined)?.Labels;
		if (raw) return labels?.[REVISION_LABEL] || null;
	}
	return null;
}

async function link(side: Side, sources: LinkSources): Promise<ReleaseLink | null> {
	if (!side.tag) return null;
	const revision = await revisionOf(side, sources.inspectImage);
	const github = sources.github;
	return {
		tag: side.tag,
		revision,
		url: github?.webUrl ? `${github.webUrl}/${github.repo}/releases/tag/${encodeURIComponent(side.tag)}` : null,
		ci: github && revision ? await ciStatus(github, revision, sources) : null,
	};
}

/** The rollback's from- and to-releases, linked; nulls when the incident has no rollback. */
export async function releaseLinks(events: readonly TimelineEvent[], sources: LinkSources): Promise<{from: ReleaseLink | null; to: ReleaseLink | null}> {
	const found = sides(events);
	if (!found) return {from: null, to: null};
	const [from, to] = await Promise.all([link(found.from, sources), link(found.to, sources)]);
	return {from, to};
}
