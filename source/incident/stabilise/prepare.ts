import {join} from 'node:path';
import {ConsoleError} from '../../errors.js';
import {readDotEnv} from '../../engine/compose-project.js';
import {isRegistryError, type Registry, type RegistryError} from '../../engine/registry.js';
import type {Compose, ComposeCommands, ComposeConfig, ComposeProject, Engine, EngineImages, ImageInfo, RepositoryImage} from '../../engine/types.js';
import {readJsonLines} from '../atomic-file.js';
import {readTextOrNull} from './env-file.js';
import {parseRef} from './release-ref.js';
import {startMarkedConfig, type MarkedConfig} from './marked-config.js';
import {digestFor, parseImageRef, repositoryName} from '../../engine/image-ref.js';
import {literalRepositories, releaseServices, tagFor, valueFor, variablesIn, type ReleaseServices} from './release-services.js';
import type {ComposeText} from './compose-image-edit.js';
import {isGithubError, type GithubRelease, type GithubReleases} from '../../engine/github-releases.js';
import {buildCandidates, compareCandidates, isSetLabel, lastKnownGood, readReleases, releasesFile, rolledBackFrom, semverOf, type Candidate, type ReleaseRecord} from './releases.js';
import {buildPlan, OVERRIDE_MARKER, overridePath, type RollbackPlan, type RunKind, type RunningService, type Target, type TargetService} from './plan.js';
import {parseSettings, type Settings} from '../settings.js';
import {currentFailure} from '../lifecycle.js';
import {projectStateDir} from '../state-dir.js';
import {buildServiceStatus, type ServiceStatus} from '../service-status.js';
import type {LoadedProject} from '../status.js';
import type {TimelineEvent} from '../timeline.js';
import {incidentDir, incidentFiles, readCurrentPointer} from '../layout.js';
import {shortId} from '../../presentation/format.js';

/**
 * Gathering for the Stabilise step: what runs, which services are the release, what this
 * box has recorded, and where the target image is — then the plan. Changes nothing.
 */

export interface StabiliseOutside {
	compose: Compose & ComposeCommands;
	engine: Promise<Engine & EngineImages> | (Engine & EngineImages);
	registry: Registry;
	/** The project's GitHub releases (x-rollback-console.release.github). */
	github?: GithubReleases;
}

export {parseRef, type Ref} from './release-ref.js';

export interface Gathered {
	project: ComposeProject;
	loaded: LoadedProject;
	services: ServiceStatus[];
	release: ReleaseServices;
	current: Record<string, RunningService>;
	/** The release running now (the newest, when the release services disagree). */
	currentTag: string | null;
	stateDir: string;
	projectDir: string;
	records: ReleaseRecord[];
	local: RepositoryImage[];
	envFile: {path: string; text: string | null};
	/** The Compose files as written. */
	composeFiles: ComposeText[];
	previousValue: string | null;
	/** image-variable: each variable's value now (the environment, then .env). */
	previousValues: Record<string, string | null>;
	incidentEvents: TimelineEvent[] | null;
	engine: Engine & EngineImages;
	/** Target lookups already started (a --to tag), by `repository:tag`. */
	lookups: Map<string, Promise<RepoLookup>>;
}

/** The open incident's events, read without opening it (gathering records nothing). */
export async function peekIncidentEvents(projectDir: string): Promise<{id: string; dir: string; events: TimelineEvent[]} | null> {
	try {
		const pointer = await readCurrentPointer(projectDir);
		if (!pointer) return null;
		const dir = incidentDir(projectDir, pointer.incident);
		const events = await readJsonLines<TimelineEvent>(incidentFiles(dir).timeline);
		if (events.some(e => e.type === 'incident_closed')) return null;
		return {id: pointer.incident, dir, events};
	} catch {
		return null;
	}
}

function running(
	release: ReleaseServices,
	services: ServiceStatus[],
	images: ReadonlyMap<string, ImageInfo>,
	records: readonly ReleaseRecord[],
): Record<string, RunningService> {
	const current: Record<string, RunningService> = {};
	for (const name of release.services) {
		const s = services.find(x => x.service === name);
		if (!s || s.containers.length === 0) continue;
		const template = release.templates[name]!;
		let tag = s.image.tag;
		// Run by digest alone (`repo@sha256:…`): the tag this box recorded it as, else its local tags.
		if (tag === null && s.image.digest) {
			tag = records.findLast(r => r.digests[name] === s.image.digest)?.tag ?? null;
			const prefix = `${template.repository}:`;
			tag ??= newestTag((images.get(s.image.id ?? '')?.repoTags ?? []).filter(t => t.startsWith(prefix) && !t.endsWith(':latest')).map(t => t.slice(prefix.length)));
		}
		current[name] = {tag: tag === null ? null : (valueFor(template, tag) ?? tag), digest: s.image.digest, imageId: s.image.id, ok: s.ok};
	}
	return current;
}

function newestTag(tags: Array<string | null>): string | null {
	const known = [...new Set(tags.filter((t): t is string => t !== null))];
	known.sort((a, b) => compareCandidates({tag: a, semver: semverOf(a), date: null}, {tag: b, semver: semverOf(b), date: null}));
	return known[0] ?? null;
}

const replaceDeep = <T>(value: T, from: string, to: string): T => JSON.parse(JSON.stringify(value).replaceAll(from, to)) as T;

/**
 * The project as compose sees it, and its release services, from one marked `config` call
 * (see marked-config.ts). When the variable is unset, or the settings name another one, it
 * falls back to `config` plus `config --no-interpolate`.
 */
async function loadRelease(
	compose: StabiliseOutside['compose'],
	project: ComposeProject,
	env: NodeJS.ProcessEnv,
	early: MarkedConfig | null | undefined,
): Promise<{config: ComposeConfig; settings: Settings; raw: Record<string, string | null>}> {
	const marked = early === undefined ? startMarkedConfig(compose, project, env) : early;
	if (marked) {
		const withMarker = await marked.config;
		const config = replaceDeep(withMarker, marked.marker, marked.value);
		const settings = parseSettings(config.extension);
		// Only when an image carries the marker: other shapes need the images as written.
		if (settings.release.variable === marked.variable && Object.values(withMarker.services).some(s => s.image?.includes(marked.marker))) {
			const raw = Object.fromEntries(
				Object.entries(withMarker.services).map(([name, s]) => [name, s.image?.replaceAll(marked.marker, `\${${marked.variable}}`) ?? null]),
			);
			return {config, settings, raw};
		}
	}
	const [config, raw] = await Promise.all([compose.config(project), compose.rawImages(project)]);
	const settings = parseSettings(config.extension);
	return {config, settings, raw};
}

/** The Compose files as written (for the literal shape's edit in place, and the ambiguity check). */
async function readComposeFiles(project: ComposeProject): Promise<ComposeText[]> {
	const texts = await Promise.all(project.files.map(async path => ({path, text: await readTextOrNull(path)})));
	return texts.filter((f): f is ComposeText => f.text !== null);
}

/** Variables the Compose files use outside `image:` lines and comments: a rollback that sets them changes more than images. */
export function usedOutsideImages(files: readonly ComposeText[]): Set<string> {
	const names = new Set<string>();
	for (const {text} of files) {
		for (const line of text.split('\n')) {
			const code = line.replace(/(^|\s)#.*$/, '');
			if (/^\s*(-\s+)?image\s*:/.test(code)) continue;
			for (const name of variablesIn(code)) names.add(name);
		}
	}
	return names;
}

/** How many release tags (not `latest`) each repository has on this box, in the registry and in releases.jsonl. */
async function countTags(
	outside: StabiliseOutside,
	engine: EngineImages,
	repositories: readonly string[],
	records: readonly ReleaseRecord[],
	servicesOf: (repository: string) => string[],
): Promise<Map<string, number>> {
	const counts = await Promise.all(
		repositories.map(async repository => {
			const services = servicesOf(repository);
			const [local, registry] = await Promise.all([
				engine.repositoryImages(repository).catch(() => [] as RepositoryImage[]),
				outside.registry.tags(repository).catch(() => [] as string[]),
			]);
			const tags = new Set([...local.flatMap(i => i.tags), ...registry]);
			// A release this box recorded for a service of this repository.
			for (const r of records) if (Object.keys(r.digests).some(s => services.includes(s))) tags.add(r.tag);
			tags.delete('latest');
			return [repository, tags.size] as const;
		}),
	);
	return new Map(counts);
}

/** The release services from what compose and the files say (literal tags: counted here and in the registry). */
async function findRelease(
	outside: StabiliseOutside,
	engine: EngineImages,
	{config, settings, raw}: {config: ComposeConfig; settings: Settings; raw: Record<string, string | null>},
	composeFiles: readonly ComposeText[],
	records: Promise<ReleaseRecord[]>,
): Promise<ReleaseServices> {
	// Literal tags: a repository with more than one release tag (here or in the registry) is a release.
	const literal = settings.release.services ? [] : literalRepositories(settings, raw, config.services);
	const servicesOf = (repository: string) =>
		Object.keys(raw).filter(s => raw[s] && repositoryName(parseImageRef(config.services[s]?.image ?? raw[s]!)) === repository);
	const counts = literal.length > 0 ? await countTags(outside, engine, literal, await records, servicesOf) : null;
	return releaseServices(settings, raw, config.services, {
		usedOutsideImages: usedOutsideImages(composeFiles),
		...(counts ? {tagCount: (repository: string) => counts.get(repository) ?? 0} : {}),
	});
}

/**
 * Which services are the release, and how the Compose file names it — for Scope, which shows
 * it before anything is planned. Changes nothing; an ambiguous project is a ConsoleError.
 */
export async function detectRelease(outside: StabiliseOutside, project: ComposeProject, stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ReleaseServices> {
	const reading = readComposeFiles(project);
	const loaded = await loadRelease(outside.compose, project, env, undefined);
	const records = readReleases(releasesFile(projectStateDir(stateDir, loaded.config.name)));
	records.catch(() => {});
	return findRelease(outside, await outside.engine, loaded, await reading, records);
}

export interface GatherOptions {
	env?: NodeJS.ProcessEnv;
	/** A `--to` tag: its registry and local lookups start as soon as the repository is known. */
	prefetch?: string | null;
	/** The marked `config` call, when the caller started it already (null: the variable is unset). */
	marked?: MarkedConfig | null;
}

/**
 * Reads everything the plan and the candidates need. Each engine call starts as soon as what
 * it needs is known — the containers while compose still parses, the images and the
 * target's lookups once it has — because a rollback's wall time is the sum of the waits.
 */
export async function gather(outside: StabiliseOutside, project: ComposeProject, stateDir: string, options: GatherOptions = {}): Promise<Gathered> {
	const env = options.env ?? process.env;
	const loading = loadRelease(outside.compose, project, env, options.marked);
	const connecting = Promise.resolve(outside.engine);
	const checking = connecting.then(engine => engine.version());
	// -p or COMPOSE_PROJECT_NAME is the name compose will report: no need to wait for it.
	const early = project.name ? connecting.then(engine => engine.projectContainers(project.name!)) : null;
	// Awaited below; until then, one failing first (no access to the socket) must not leave the
	// others rejected unhandled, which kills the process with a stack instead of one line.
	checking.catch(() => {});
	early?.catch(() => {});
	const reading = readComposeFiles(project);
	const {config, settings, raw} = await loading;
	const engine = await connecting;
	const name = config.name;
	const projectDir = projectStateDir(stateDir, name);
	const envPath = join(project.workingDir, '.env');
	const recording = readReleases(releasesFile(projectDir));
	recording.catch(() => {});
	const composeFiles = await reading;
	const release = await findRelease(outside, engine, {config, settings, raw}, composeFiles, recording);
	const lookups = new Map<string, Promise<RepoLookup>>();
	const ref = options.prefetch ? parseRef(options.prefetch) : null;
	if (ref?.kind === 'tag') {
		for (const repository of release.repositories) {
			const service = release.services.find(s => release.templates[s]!.repository === repository)!;
			const imageTag = tagFor(release.templates[service]!, ref.tag);
			const pending = lookup(outside, engine, repository, imageTag);
			pending.catch(() => {});
			lookups.set(`${repository}:${imageTag}`, pending);
		}
	}
	const rest = Promise.all([
		recording,
		engine.repositoryImages(release.repositories[0]!),
		readTextOrNull(envPath),
		peekIncidentEvents(projectDir),
	]);
	rest.catch(() => {});
	const containers = await (early && project.name === name ? early : engine.projectContainers(name));
	await checking;
	const [records, local, envText, incident] = await rest;
	// The release services' images are among the repository's local images (with their repo
	// digests); the other services' digests are not needed here, so no inspect per container.
	const images = new Map<string, ImageInfo>(local.map(i => [i.id, i]));
	const others = release.repositories.length > 1 ? [...new Set(containers.map(c => c.imageId))].filter(id => !images.has(id)) : [];
	await Promise.all(
		others.map(async id => {
			const info = await engine.image(id);
			if (info) images.set(id, info);
		}),
	);
	const services = buildServiceStatus(config, containers, images, Date.now());
	const current = running(release, services, images, records);
	const primary = release.templates[release.services[0]!]!;
	const localValues = local.map(i => ({...i, tags: i.tags.map(t => valueFor(primary, t)).filter((t): t is string => t !== null)}));
	return {
		project,
		loaded: {project, name, config, settings},
		services,
		release,
		current,
		currentTag: newestTag(Object.values(current).map(c => c.tag)),
		stateDir,
		projectDir,
		records,
		local: localValues,
		envFile: {path: envPath, text: envText},
		composeFiles,
		previousValue: readDotEnv(envPath)[release.variable] ?? null,
		previousValues: Object.fromEntries(Object.values(release.variables).map(v => [v, env[v] ?? readDotEnv(envPath)[v] ?? null])),
		incidentEvents: incident?.events ?? null,
		engine,
		lookups,
	};
}

/** The candidates: releases.jsonl, the registry's tags (with digests, when asked) and the local images. */
export async function listCandidates(
	outside: Pick<StabiliseOutside, 'registry' | 'github'>,
	gathered: Gathered,
	{digests = true, limit = 30}: {digests?: boolean; limit?: number} = {},
): Promise<{candidates: Candidate[]; registryError: RegistryError | null; githubError?: string | null}> {
	const {release} = gathered;
	const primary = release.templates[release.services[0]!]!;
	let registryTags: string[] | null = null;
	let registryError: RegistryError | null = null;
	const repo = gathered.loaded.settings.release.github;
	const asking = repo && outside.github ? outside.github.releases(repo) : null;
	asking?.catch(() => {});
	try {
		// Across repositories, a tag is a release when every repository has it (the tags agree).
		const perRepository = await Promise.all(
			release.repositories.map(async repository => {
				const template = release.templates[release.services.find(s => release.templates[s]!.repository === repository)!]!;
				return (await outside.registry.tags(repository)).map(t => valueFor(template, t)).filter((t): t is string => t !== null);
			}),
		);
		registryTags = perRepository.reduce((common, tags) => common.filter(t => tags.includes(t)));
	} catch (error) {
		if (!isRegistryError(error)) throw error;
		registryError = error;
	}
	let githubReleases: GithubRelease[] | null = null;
	let githubError: string | null = null;
	if (asking) {
		try {
			githubReleases = await asking;
		} catch (error) {
			if (!isGithubError(error)) throw error;
			githubError = error.message;
		}
	}
	const base = {
		records: gathered.records,
		registryTags,
		local: gathered.local,
		currentTag: gathered.currentTag,
		primaryService: primary.service,
		...(githubReleases ? {github: githubReleases} : {}),
	};
	let candidates = buildCandidates(base);
	if (digests && registryTags) {
		const wanted = candidates.filter(c => c.registry.present).slice(0, limit);
		const found = new Map<string, string | null>();
		// A few at a time: a registry is a shared service.
		for (let i = 0; i < wanted.length; i += 8) {
			await Promise.all(
				wanted.slice(i, i + 8).map(async c => {
					found.set(c.tag, await outside.registry.digest(primary.repository, tagFor(primary, c.tag)).catch(() => null));
				}),
			);
		}
		candidates = buildCandidates({...base, registryDigests: found});
	}
	return {candidates, registryError, githubError};
}

/** The verified record of a tag (the latest), if it was verified and not rolled back from since. */
function verifiedRecord(records: readonly ReleaseRecord[], tag: string): ReleaseRecord | null {
	const candidates = buildCandidates({records, registryTags: null, local: [], currentTag: null});
	if (!candidates.find(c => c.tag === tag)?.verified) return null;
	return records.findLast(r => r.tag === tag && r.event === 'verified') ?? null;
}

const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'earlier');

interface RepoLookup {
	repository: string;
	imageTag: string;
	registryDigest: string | null;
	registryError: RegistryError | null;
	local: {id: string; digest: string | null} | null;
}

async function lookup(outside: StabiliseOutside, engine: Engine, repository: string, imageTag: string): Promise<RepoLookup> {
	const [registry, local] = await Promise.all([
		outside.registry.digest(repository, imageTag).then(
			digest => ({digest, error: null}),
			(error: unknown) => {
				if (!isRegistryError(error)) throw error;
				return {digest: null, error};
			},
		),
		engine.image(`${repository}:${imageTag}`),
	]);
	return {
		repository,
		imageTag,
		registryDigest: registry.digest,
		registryError: registry.error,
		local: local ? {id: local.id, digest: digestFor(`${repository}:${imageTag}`, local.repoDigests)} : null,
	};
}

async function byDigest(outside: StabiliseOutside, engine: Engine, repository: string, digest: string) {
	const [inRegistry, local] = await Promise.all([
		outside.registry.digest(repository, digest).then(
			d => ({present: d !== null, error: null}),
			(error: unknown) => {
				if (!isRegistryError(error)) throw error;
				return {present: false, error};
			},
		),
		engine.image(`${repository}@${digest}`),
	]);
	return {present: inRegistry.present, error: inRegistry.error as RegistryError | null, local: local ? {id: local.id} : null};
}

function unreachable(error: RegistryError | null): error is RegistryError {
	return error !== null;
}

async function resolveTag(outside: StabiliseOutside, g: Gathered, tag: string): Promise<Target> {
	const {release} = g;
	const verified = verifiedRecord(g.records, tag);
	const byRepo = new Map<string, string[]>();
	for (const s of release.services) byRepo.set(release.templates[s]!.repository, [...(byRepo.get(release.templates[s]!.repository) ?? []), s]);
	const services: Record<string, TargetService> = {};
	const skips: string[] = [];
	let pinned: string | null = null;
	let pinReason: string | null = null;
	for (const [repository, names] of byRepo) {
		const imageTag = tagFor(release.templates[names[0]!]!, tag);
		const found = await (g.lookups.get(`${repository}:${imageTag}`) ?? lookup(outside, g.engine, repository, imageTag));
		const recorded = verified?.digests[names[0]!] ?? null;
		const known = found.registryDigest ?? found.local?.digest ?? null;
		if (recorded && known && known !== recorded) {
			// Re-pushed since it was verified: the verified content, by digest.
			const where = await byDigest(outside, g.engine, repository, recorded);
			if (!where.present && !where.local) {
				throw new ConsoleError(
					`${tag} was verified as ${shortId(recorded)} but now points to ${shortId(known)}, and ${shortId(recorded)} is gone from the registry and this box: pass --to ${known} to deploy the new content`,
				);
			}
			if (byRepo.size > 1 && release.shape === 'tag-variable') throw new ConsoleError(`${tag} was re-pushed since it was verified, and the release services use ${byRepo.size} repositories: one pinned digest cannot serve them all; use persist: override with --to sha256:…`);
			pinned = recorded;
			pinReason = `${tag} was re-pushed since it was verified on ${when(verified!.time)} (the tag now points to ${shortId(known)}): deploying the verified digest ${shortId(recorded)}`;
			if (unreachable(where.error)) skips.push(`${where.error.message}: using the verified image on this box`);
			else if (!where.present) skips.push(`${repository}@${shortId(recorded)} is no longer in the registry: using the image on this box`);
			for (const s of names) services[s] = {reference: `${repository}@${recorded}`, digest: recorded, local: Boolean(where.local), imageId: where.local?.id ?? null};
			continue;
		}
		if (!found.registryDigest && !found.local) {
			if (unreachable(found.registryError)) {
				throw new ConsoleError(`${found.registryError.message}, and ${repository}:${imageTag} is not on this box: nothing to roll back from`);
			}
			throw new ConsoleError(`${tag} does not exist: ${repository}:${imageTag} is neither in the registry nor on this box`);
		}
		if (unreachable(found.registryError)) skips.push(`${found.registryError.message}: rolling back from the local image`);
		else if (!found.registryDigest) skips.push(`${repository}:${imageTag} is not in the registry: using the local image`);
		// The local image is the target unless the registry's tag points elsewhere now.
		const localIsTarget = Boolean(found.local) && (!found.registryDigest || found.local!.digest === found.registryDigest);
		for (const s of names) {
			services[s] = {
				reference: `${repository}:${imageTag}`,
				digest: found.registryDigest ?? found.local?.digest ?? recorded,
				local: localIsTarget,
				imageId: localIsTarget ? found.local!.id : null,
			};
		}
	}
	if (release.shape !== 'tag-variable') {
		// Pinned by digest in the file (`repo:tag@sha256:…`): the worker checks for that image, which a pull by digest does not tag.
		for (const [s, to] of Object.entries(services)) if (to.digest) services[s] = {...to, reference: `${release.templates[s]!.repository}@${to.digest}`};
	}
	return {
		requested: tag,
		tag,
		pinned,
		pinReason,
		value: pinned ? `${tag}@${pinned}` : tag,
		services,
		skipPull: skips.length > 0 ? skips.join('; ') : null,
		verified: Boolean(verified),
		verifiedAt: verified?.time ?? null,
		migrationHead: verified?.migrationHead ?? null,
	};
}

async function resolveDigest(outside: StabiliseOutside, g: Gathered, digest: string): Promise<Target> {
	const {release} = g;
	if (release.repositories.length > 1) {
		throw new ConsoleError(`--to ${digest}: the release services use ${release.repositories.length} repositories (${release.repositories.join(', ')}); a digest names one image: pass a tag`);
	}
	const repository = release.repositories[0]!;
	const where = await byDigest(outside, g.engine, repository, digest);
	if (!where.present && !where.local) {
		if (unreachable(where.error)) throw new ConsoleError(`${where.error.message}, and ${repository}@${shortId(digest)} is not on this box`);
		const elsewhere = (await g.engine.repositoriesWithDigest(digest)).filter(r => r !== repository);
		if (elsewhere.length > 0) throw new ConsoleError(`${digest} is a digest of ${elsewhere.join(', ')}, not of ${repository}`);
		throw new ConsoleError(`${digest} does not exist: ${repository}@${shortId(digest)} is neither in the registry nor on this box`);
	}
	// The variable needs a tag in front of the digest: the one this digest was recorded or pulled as.
	const primary = release.templates[release.services[0]!]!;
	let tag: string | null = g.records.findLast(r => Object.values(r.digests).includes(digest))?.tag ?? null;
	tag ??= g.local.find(i => i.digest === digest)?.tags[0] ?? null;
	if (!tag && !where.error) {
		const tags = (await outside.registry.tags(repository).catch(() => [] as string[])).map(t => valueFor(primary, t)).filter((t): t is string => t !== null);
		tags.sort((a, b) => compareCandidates({tag: a, semver: semverOf(a), date: null}, {tag: b, semver: semverOf(b), date: null}));
		for (let i = 0; i < tags.length && i < 100 && !tag; i += 8) {
			const batch = tags.slice(i, i + 8);
			const digests = await Promise.all(batch.map(t => outside.registry.digest(repository, tagFor(primary, t)).catch(() => null)));
			tag = batch.find((_, k) => digests[k] === digest) ?? null;
		}
	}
	if (!tag) throw new ConsoleError(`${digest} carries no tag in ${repository}; the image reference needs one in front of the digest: pass a tag`);
	const verified = verifiedRecord(g.records, tag);
	const services: Record<string, TargetService> = {};
	for (const s of release.services) services[s] = {reference: `${repository}@${digest}`, digest, local: Boolean(where.local), imageId: where.local?.id ?? null};
	const skip = unreachable(where.error)
		? `${where.error.message}: rolling back from the local image`
		: !where.present
			? `${repository}@${shortId(digest)} is not in the registry: using the local image`
			: null;
	return {
		requested: digest,
		tag,
		pinned: digest,
		pinReason: null,
		value: `${tag}@${digest}`,
		services,
		skipPull: skip,
		verified: Boolean(verified && Object.values(verified.digests).includes(digest)),
		verifiedAt: verified?.time ?? null,
		migrationHead: verified?.migrationHead ?? null,
	};
}

/** The tag a digest was recorded, pulled or pushed as in one repository, or null. */
async function tagOfDigest(outside: StabiliseOutside, g: Gathered, repository: string, digest: string, registryAnswers: boolean): Promise<string | null> {
	const template = g.release.templates[g.release.services.find(s => g.release.templates[s]!.repository === repository)!]!;
	let tag: string | null = g.records.findLast(r => Object.values(r.digests).includes(digest))?.tag ?? null;
	if (tag?.startsWith('sha256:')) tag = null;
	tag ??= (await g.engine.repositoryImages(repository).catch(() => [])).find(i => i.digest === digest)?.tags.filter(t => t !== 'latest')[0] ?? null;
	if (!tag && registryAnswers) {
		const tags = (await outside.registry.tags(repository).catch(() => [] as string[])).filter(t => t !== 'latest' && valueFor(template, t) !== null);
		tags.sort((a, b) => compareCandidates({tag: a, semver: semverOf(a), date: null}, {tag: b, semver: semverOf(b), date: null}));
		for (let i = 0; i < tags.length && i < 100 && !tag; i += 8) {
			const batch = tags.slice(i, i + 8);
			const digests = await Promise.all(batch.map(t => outside.registry.digest(repository, t).catch(() => null)));
			tag = batch.find((_, k) => digests[k] === digest) ?? null;
		}
	}
	return tag;
}

/**
 * `--to sha256:…` when each service names its image (literal tags, one variable per service):
 * the release this box recorded with that digest, each service by its own digest; else the
 * release of the digest's tag across the repositories, with that one image pinned.
 */
async function resolveDigestAcross(outside: StabiliseOutside, g: Gathered, digest: string): Promise<Target> {
	const {release} = g;
	const record = g.records.findLast(r => release.services.some(s => r.digests[s] === digest) && release.services.every(s => r.digests[s]));
	if (record) return {...(await resolveRecord(outside, g, record)), requested: digest, pinned: digest};
	return resolveDigestByTag(outside, g, digest);
}

/** A release this box recorded, each service by the digest it ran (a set whose tags disagree, or one named by a digest). */
async function resolveRecord(outside: StabiliseOutside, g: Gathered, record: ReleaseRecord): Promise<Target> {
	const {release} = g;
	const services: Record<string, TargetService> = {};
	const skips: string[] = [];
	const label = record.tag.startsWith('sha256:') || isSetLabel(record.tag) ? null : record.tag;
	await Promise.all(
		release.services.map(async s => {
			const repository = release.templates[s]!.repository;
			const d = record.digests[s]!;
			const where = await byDigest(outside, g.engine, repository, d);
			if (!where.present && !where.local) {
				if (unreachable(where.error)) throw new ConsoleError(`${where.error.message}, and ${repository}@${shortId(d)} (${s} of ${record.tag}) is not on this box`);
				throw new ConsoleError(`${record.tag}'s ${s} image ${repository}@${shortId(d)} is neither in the registry nor on this box`);
			}
			if (unreachable(where.error)) skips.push(`${where.error.message}: using the images on this box`);
			else if (!where.present) skips.push(`${repository}@${shortId(d)} is not in the registry: using the local image`);
			const tag = record.images?.[s]?.tag ?? label;
			services[s] = {reference: `${repository}@${d}`, digest: d, local: Boolean(where.local), imageId: where.local?.id ?? null, tag};
		}),
	);
	const verified = verifiedRecord(g.records, record.tag);
	return {
		requested: record.tag,
		tag: record.tag,
		pinned: null,
		pinReason: null,
		value: record.tag,
		services,
		skipPull: skips.length > 0 ? [...new Set(skips)].join('; ') : null,
		verified: Boolean(verified && release.services.every(s => verified.digests[s] === record.digests[s])),
		verifiedAt: verified?.time ?? null,
		migrationHead: verified?.migrationHead ?? null,
	};
}

/** A digest no release was recorded with: the release of its tag, with that one image pinned. */
async function resolveDigestByTag(outside: StabiliseOutside, g: Gathered, digest: string): Promise<Target> {
	const {release} = g;
	const wheres = await Promise.all(release.repositories.map(repository => byDigest(outside, g.engine, repository, digest)));
	const index = wheres.findIndex(w => w.present || w.local);
	if (index === -1) {
		const down = wheres.find(w => unreachable(w.error));
		if (down?.error) throw new ConsoleError(`${down.error.message}, and ${digest} is not on this box`);
		const elsewhere = (await g.engine.repositoriesWithDigest(digest)).filter(r => !release.repositories.includes(r));
		if (elsewhere.length > 0) throw new ConsoleError(`${digest} is a digest of ${elsewhere.join(', ')}, not of ${release.repositories.join(', ')}`);
		throw new ConsoleError(`${digest} does not exist: it is neither in the registry nor on this box for ${release.repositories.join(', ')}`);
	}
	const repository = release.repositories[index]!;
	const where = wheres[index]!;
	const tag = await tagOfDigest(outside, g, repository, digest, !where.error);
	const mine = release.services.filter(s => release.templates[s]!.repository === repository);
	const pinnedHere: TargetService = {reference: `${repository}@${digest}`, digest, local: Boolean(where.local), imageId: where.local?.id ?? null, tag};
	if (!tag) {
		if (release.repositories.length > 1) {
			throw new ConsoleError(`${digest} carries no tag in ${repository}, so nothing says which images of ${release.repositories.filter(r => r !== repository).join(', ')} go with it: pass a tag`);
		}
		return {
			requested: digest,
			tag: digest,
			pinned: digest,
			pinReason: null,
			value: digest,
			services: Object.fromEntries(mine.map(s => [s, pinnedHere])),
			skipPull: unreachable(where.error) ? `${where.error.message}: using the local image` : !where.present ? `${repository}@${shortId(digest)} is not in the registry: using the local image` : null,
			verified: false,
			verifiedAt: null,
			migrationHead: null,
		};
	}
	const target = await resolveTag(outside, g, tag);
	for (const s of mine) target.services[s] = pinnedHere;
	return {...target, requested: digest, pinned: digest};
}

export interface Prepared {
	gathered: Gathered;
	plan: RollbackPlan;
}

/** The target a rollback without --to goes to: the last known good. */
export function defaultTarget(g: Gathered): string {
	const good = lastKnownGood(buildCandidates({records: g.records, registryTags: null, local: [], currentTag: g.currentTag}));
	if (!good) {
		throw new ConsoleError(
			`no last known good release: nothing older than ${g.currentTag ?? 'the current release'} was verified on this box, or found healthy by a deploy's preflight (releases.jsonl); pass --to TAG (see rollback-console history)`,
		);
	}
	return good.tag;
}

/** Resolves the target and builds the plan (ConsoleError for every bad input; nothing changes). */
export async function planFrom(
	outside: StabiliseOutside,
	g: Gathered,
	{kind, to, env = process.env, now = Date.now()}: {kind: RunKind; to: string | null; env?: NodeJS.ProcessEnv; now?: number},
): Promise<RollbackPlan> {
	const ref = parseRef(to ?? defaultTarget(g));
	const recordedSet = ref.kind === 'tag' && isSetLabel(ref.tag) && g.release.shape !== 'tag-variable' ? g.records.findLast(r => r.tag === ref.tag && g.release.services.every(s => r.digests[s])) : undefined;
	const target = recordedSet
		? await resolveRecord(outside, g, recordedSet)
		: ref.kind === 'tag'
			? await resolveTag(outside, g, ref.tag)
			: g.release.shape === 'tag-variable'
				? await resolveDigest(outside, g, ref.digest)
				: await resolveDigestAcross(outside, g, ref.digest);
	const persist = g.loaded.settings.release.persist;
	let override = null;
	// Literal tags are pinned in the auto-loaded override when it is ours (or absent), else in the Compose file.
	if (persist === 'override' || g.release.shape === 'literal') {
		const path = overridePath(g.project);
		if (path) {
			const text = await readTextOrNull(path);
			override = {path, text, ours: text?.startsWith(OVERRIDE_MARKER) ?? false};
		}
	}
	const currentRecord = g.currentTag ? g.records.findLast(r => r.tag === g.currentTag) : undefined;
	return buildPlan({
		kind,
		now,
		project: g.project,
		projectName: g.loaded.name,
		argv: (project, args) => outside.compose.argv(project, args),
		release: g.release,
		persist,
		current: g.current,
		previousValue: g.previousValue,
		target,
		envFile: g.envFile,
		override,
		incidentEvents: g.incidentEvents,
		failureSince: currentFailure(g.services)?.since ?? null,
		targetRolledBackFrom: rolledBackFrom(g.records, target.tag),
		shellHasVariable: g.release.variable !== '' && env[g.release.variable] !== undefined,
		...(g.loaded.settings.release.pullTimeoutMs ? {pullTimeoutMs: g.loaded.settings.release.pullTimeoutMs} : {}),
		shellVariables: Object.values(g.release.variables).filter(v => env[v] !== undefined),
		previousValues: g.previousValues,
		composeFiles: g.composeFiles,
		...(g.release.shape === 'literal' ? {editImages: (await import('./compose-image-edit.js')).editComposeImages} : {}),
		currentMigrationHead: currentRecord?.migrationHead ?? null,
		projectServices: g.loaded.config.services,
	});
}

/** Gathers and plans in one go. */
export async function prepare(
	outside: StabiliseOutside,
	project: ComposeProject,
	options: {stateDir: string; kind: RunKind; to: string | null; env?: NodeJS.ProcessEnv},
): Promise<Prepared> {
	// A malformed --to is refused before anything is asked of compose or the engine.
	if (options.to !== null) parseRef(options.to);
	const gathered = await gather(outside, project, options.stateDir, {env: options.env ?? process.env, prefetch: options.to});
	return {gathered, plan: await planFrom(outside, gathered, options)};
}
