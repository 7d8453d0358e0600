import {backupDir, listBackups} from '../database/backups.js';
import type {Compose, ComposeCommands, ComposeProject, DiskEngine, DiskHost, Engine, FsUsage, ImageLayers} from '../../engine/types.js';
import {isConsoleError} from '../../errors.js';
import {computeRetention, type Retention} from './retention.js';
import {buildDiskPlan, type DiskFacts, type DiskReport, type FsLabel} from './plan.js';
import {parseImageRef, repositoryName} from '../../engine/image-ref.js';
import {releaseServices, valueFor, type ImageTemplate, type ReleaseServices} from '../stabilise/release-services.js';
import {compareCandidates, readReleases, releasesFile, semverOf, type ReleaseRecord} from '../stabilise/releases.js';
import {projectStateDir} from '../state-dir.js';
import {loadProject, type LoadedProject} from '../status.js';

/**
 * Gathering for the Disk step: statfs, Docker's breakdown, every container and image, the
 * project's releases. Reads only — no temp file, no write — so it works on a full disk.
 */

export interface DiskOutside {
	compose: Compose & Pick<ComposeCommands, 'rawImages'>;
	engine: Promise<Engine & DiskEngine> | (Engine & DiskEngine);
	host: DiskHost;
}

export interface GatheredDisk {
	report: DiskReport;
	/** What the report was built from (the command line's `log:NAME` looks up containers here). */
	facts: DiskFacts;
	loaded: LoadedProject;
	/** `<state>/<project>`. */
	projectDir: string;
	engine: Engine & DiskEngine;
}

const isLocal = (address: string) => address.startsWith('unix://');

async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
	const results: R[] = [];
	for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
	return results;
}

function newest(tags: Array<string | null>): string | null {
	const known = [...new Set(tags.filter((t): t is string => t !== null))];
	known.sort((a, b) => compareCandidates({tag: a, semver: semverOf(a), date: null}, {tag: b, semver: semverOf(b), date: null}));
	return known[0] ?? null;
}

/** The release value an image reference stands for under a template, or null. */
function valueOf(template: ImageTemplate, reference: string): string | null {
	const ref = parseImageRef(reference);
	if (repositoryName(ref) !== template.repository || !ref.tag) return null;
	return valueFor(template, ref.tag);
}

export async function gatherDisk(
	outside: DiskOutside,
	project: ComposeProject,
	{stateDir, now = Date.now}: {stateDir: string; now?: () => number},
): Promise<GatheredDisk> {
	const loading = loadProject(outside.compose, project);
	// Settled now, looked at later: a failure here only means no release images are pruned.
	const raw = outside.compose.rawImages(project).then(
		images => ({images, error: null}),
		(error: unknown) => ({images: null, error}),
	);
	const engine = await outside.engine;
	const [version, loaded, rootDir] = await Promise.all([engine.version(), loading, engine.dockerRootDir()]);
	const local = isLocal(engine.address);
	const projectDir = projectStateDir(stateDir, loaded.name);
	const [df, containers, mounts, records] = await Promise.all([
		engine.diskUsage(),
		engine.allContainers(),
		// Best effort: only says which container last used an anonymous volume.
		engine.volumeMounts().catch(() => []),
		readReleases(releasesFile(projectDir)),
	]);

	const wanted: Array<{label: FsLabel; path: string}> = [{label: 'root', path: '/'}];
	if (local) wanted.push({label: 'docker', path: rootDir});
	wanted.push({label: 'state', path: stateDir});
	const filesystems = (
		await Promise.all(wanted.map(async w => ({label: w.label, usage: await outside.host.fsUsage(w.path).catch(() => null)})))
	)
		.filter((f): f is {label: FsLabel; usage: FsUsage} => f.usage !== null)
		.map(f => ({...f.usage, label: f.label}));

	// Layers of every top-level image: what a removed image frees depends on what stays.
	const layerList = await inBatches(df.images, 16, async i => [i.id, await engine.imageLayers(i.id).catch(() => null)] as const);
	const layers = new Map<string, ImageLayers | null>(layerList);

	const logSizes = new Map<string, {size: number; allocated: number}>();
	if (local) {
		await inBatches(containers.filter(c => c.logPath), 32, async c => {
			const size = await outside.host.fileSize(c.logPath!);
			if (size) logSizes.set(c.id, size);
		});
	}
	const volumePeeks = new Map<string, {names: string[]; total: number} | null>();
	if (local) {
		const unused = df.volumes.filter(v => v.refCount === 0 && v.driver === 'local' && /^[0-9a-f]{64}$/.test(v.name));
		await inBatches(unused, 16, async v => volumePeeks.set(v.name, await outside.host.peek(v.mountpoint, 5)));
	}

	// The release services and what they run: which repositories this project owns.
	let release: ReleaseServices | null = null;
	let releaseProblem: string | null = null;
	const rawImages = await raw;
	try {
		if (!rawImages.images) throw rawImages.error;
		release = releaseServices(loaded.settings, rawImages.images, loaded.config.services);
	} catch (error) {
		if (!isConsoleError(error)) throw error;
		releaseProblem = error.message;
	}
	let retention: Retention | null = null;
	const others: Array<{retention: Retention; records: ReleaseRecord[]}> = [];
	const sharedUnrecorded = new Map<string, string[]>();
	if (release) {
		const templates = release.templates;
		const mine = containers.filter(c => c.project === loaded.name && c.service && templates[c.service]);
		const currentTag = newest(mine.map(c => valueOf(templates[c.service!]!, c.image)));
		const configuredTag = newest(
			release.services.map(s => {
				const image = loaded.config.services[s]?.image;
				return image ? valueOf(templates[s]!, image) : null;
			}),
		);
		retention = computeRetention({project: loaded.name, records, templates, currentTag, configuredTag, retain: loaded.settings.disk.retainReleases});

		// Another compose project running our repository: its rollback images count too (Kamal #1922).
		const byRepo = new Map(Object.values(templates).map(t => [t.repository, t]));
		const theirs = new Map<string, Record<string, ImageTemplate>>();
		for (const c of containers) {
			if (!c.project || c.project === loaded.name || !c.service) continue;
			const template = byRepo.get(repositoryName(parseImageRef(c.image)));
			if (!template) continue;
			theirs.set(c.project, {...theirs.get(c.project), [c.service]: {...template, service: c.service}});
		}
		for (const [other, otherTemplates] of theirs) {
			let otherRecords: ReleaseRecord[] = [];
			try {
				otherRecords = await readReleases(releasesFile(projectStateDir(stateDir, other)));
			} catch {
				// Not a name we can look up: treated as unrecorded.
			}
			if (otherRecords.length === 0) {
				for (const t of Object.values(otherTemplates)) {
					const list = sharedUnrecorded.get(t.repository) ?? [];
					if (!list.includes(other)) sharedUnrecorded.set(t.repository, [...list, other]);
				}
				continue;
			}
			const running = containers.filter(c => c.project === other && c.service && otherTemplates[c.service]);
			others.push({
				records: otherRecords,
				retention: computeRetention({
					project: other,
					records: otherRecords,
					templates: otherTemplates,
					currentTag: newest(running.map(c => valueOf(otherTemplates[c.service!]!, c.image))),
					configuredTag: null,
					retain: loaded.settings.disk.retainReleases,
				}),
			});
		}
	}

	const facts: DiskFacts = {
		project: loaded.name,
		checkedAt: new Date(now()).toISOString(),
		engine: {address: engine.address, version: version.version, apiVersion: version.apiVersion, dockerRootDir: rootDir, local},
		thresholdPercent: loaded.settings.disk.thresholdPercent,
		retainReleases: loaded.settings.disk.retainReleases,
		filesystems,
		df,
		containers,
		layers,
		logSizes,
		volumeMounts: mounts,
		volumePeeks,
		retention,
		records,
		releaseProblem,
		others,
		sharedUnrecorded,
		backups: await gatherBackups(projectDir, loaded.settings.database, project.workingDir),
	};
	return {report: buildDiskPlan(facts), facts, loaded, projectDir, engine};
}

/** The database backups backups.log lists, with how long the project keeps them (null: none). */
async function gatherBackups(projectDir: string, settings: {backupDir?: string; retainDays?: number} | null, workingDir: string): Promise<DiskFacts['backups']> {
	const dir = backupDir(projectDir, settings?.backupDir, workingDir);
	const entries = await listBackups(dir).catch(() => []);
	return entries.length > 0 ? {dir, retainDays: settings?.retainDays ?? 7, entries} : null;
}
