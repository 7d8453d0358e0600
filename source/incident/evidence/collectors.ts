import {constants} from 'node:fs';
import {access, readFile, stat} from 'node:fs/promises';
import {textLines, type CiLogSource} from '../../engine/ci-log.js';
import {composeProjectArgs} from '../../engine/compose-project.js';
import {hostFacts} from '../../engine/host-facts.js';
import {hasLogText, type LogTextEngine} from '../../engine/evidence-http-engine.js';
import {jsonFileLogPath, jsonFileLogText, openJsonFileLog} from '../../engine/json-file-log.js';
import type {ComposeProject, ContainerInfo, Engine, EvidenceEngine, LogLine} from '../../engine/types.js';
import type {HealthProbe} from '../../engine/health-probe-types.js';
import type {Settings} from '../settings.js';
import type {Content, EvidenceItem, EvidencePlan} from './types.js';
import {shortId} from '../../presentation/format.js';

/** What compose's CLI answers (ComposeCli.run). */
export interface ComposeRunner {
	run(args: string[], options?: {cwd?: string; signal?: AbortSignal}): Promise<{stdout: string; stderr: string; exitCode: number}>;
}

/** Everything a capture reads from. */
export interface EvidenceSources {
	engine: Pick<Engine, 'projectContainers'> & EvidenceEngine & Partial<LogTextEngine>;
	compose: ComposeRunner;
	/**
	 * `compose config --format json` as `compose.run` answers it; given, from the per-user cache
	 * (compose-config-cache.ts: used only while every input compose reads is unchanged).
	 */
	composeConfig?: (signal: AbortSignal) => Promise<{stdout: string; stderr: string; exitCode: number}>;
	project: ComposeProject;
	/** The project name compose resolved. */
	projectName: string;
	settings: Settings;
	probeHealth(signal: AbortSignal): Promise<HealthProbe[]>;
	/** The incident's timeline file as it is when read (the tmpfs copy, once it fell back). */
	timelineFile(): string;
	ciLog: CiLogSource | null;
	now?: () => number;
}

export const DEFAULT_LOG_CAP = 25 * 1024 * 1024;
const eventsWindowSeconds = 24 * 60 * 60;
// Rough sizes of the small items, for the estimate.
const smallItem = 16 * 1024;

/** A command line as the operator would type it (arguments with spaces quoted). */
export function commandLine(argv: readonly string[]): string {
	return argv.map(arg => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** A container or image name as one path segment. */
export const safeName = (name: string) => name.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_') || '_';

async function compose(sources: EvidenceSources, args: string[], signal: AbortSignal): Promise<string> {
	const asked = args.join(' ') === 'config --format json' && sources.composeConfig ? sources.composeConfig(signal) : null;
	const result = await (asked ?? sources.compose.run([...composeProjectArgs(sources.project), ...args], {cwd: sources.project.workingDir, signal}));
	if (result.exitCode !== 0) {
		const line = `${result.stderr}\n${result.stdout}`.split('\n').find(l => l.trim() !== '') ?? `exit code ${result.exitCode}`;
		throw new Error(`docker compose ${args[0]} exited ${result.exitCode}: ${line.trim()}`);
	}
	return result.stdout;
}

/** `compose ps --format json` is a JSON array in older compose, one object per line in newer. */
function parsePs(stdout: string): unknown {
	const text = stdout.trim();
	if (text === '') return [];
	if (text.startsWith('[')) return JSON.parse(text) as unknown;
	return text.split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line) as unknown);
}

/** As LogTextAssembler writes a line (an Engine without containerLogText: dockerode's). */
const formatLine = (line: LogLine) => `${line.time ?? '-'} ${line.stream} ${line.text}\n`;

/** A block of lines per batch the Engine sent: one await per chunk, not per line. */
async function* logBlocks(batches: AsyncIterable<LogLine[]>): AsyncIterable<string> {
	for await (const batch of batches) yield batch.map(formatLine).join('');
}

/** The newest container of each service and replica; older ones are what a recreate left behind. */
export function previousContainers(containers: readonly ContainerInfo[]): Set<string> {
	const newest = new Map<string, ContainerInfo>();
	for (const c of containers) {
		const key = `${c.service}#${c.number}`;
		const best = newest.get(key);
		if (!best || c.createdAt > best.createdAt) newest.set(key, c);
	}
	return new Set(containers.filter(c => newest.get(`${c.service}#${c.number}`) !== c).map(c => c.id));
}

/** A file's bytes as they are now (a timeline keeps growing while we read it). */
async function* fileBytes(file: string): AsyncIterable<Buffer> {
	try {
		yield await readFile(file);
	} catch (error) {
		// No event yet: an empty timeline.
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
}

const canRead = (file: string) => access(file, constants.R_OK).then(() => true, () => false);

async function logSize(logPath: unknown): Promise<number | null> {
	if (typeof logPath !== 'string' || logPath === '') return null;
	try {
		return (await stat(logPath)).size;
	} catch {
		return null;
	}
}

/**
 * Looks at what there is to collect (containers, images, the engine's data root) and lists
 * the items with their sizes. Reads only; writes nothing.
 */
export async function planEvidence(
	sources: EvidenceSources,
	options: {logCapBytes?: number; signal?: AbortSignal; /** The project's containers, when just listed. */ containers?: readonly ContainerInfo[]} = {},
): Promise<EvidencePlan> {
	const cap = options.logCapBytes ?? DEFAULT_LOG_CAP;
	const now = sources.now ?? Date.now;
	const {engine, projectName} = sources;
	const [listed, info] = await Promise.all([options.containers ?? engine.projectContainers(projectName), engine.infoRaw().catch(() => null)]);
	const containers = [...listed];
	containers.sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number || a.createdAt.localeCompare(b.createdAt));
	const previous = previousContainers(containers);
	const inspected = await Promise.all(containers.map(c => engine.inspectContainerRaw(c.id).catch(() => null)));
	const sizes = await Promise.all(inspected.map(i => logSize(i?.['LogPath'])));
	// The json-file driver's files, when this box's Engine wrote them and we may read them (root).
	const logFiles = await Promise.all(
		inspected.map(async i => {
			const file = jsonFileLogPath(i);
			return file && (await canRead(file)) ? file : null;
		}),
	);
	let estimateIncomplete = false;

	const items: EvidenceItem[] = [];
	const composeArgs = (args: string[]) => commandLine(['docker', 'compose', ...composeProjectArgs(sources.project), ...args]);

	items.push(
		{
			id: 'compose-config',
			group: 'compose',
			what: 'the resolved Compose configuration',
			how: `${composeArgs(['config', '--format', 'json'])}${sources.composeConfig ? ' (its answer from the per-user cache while none of its inputs changed)' : ''}`,
			file: 'compose/config.json',
			estimate: smallItem,
			collect: async signal => ({json: JSON.parse(await compose(sources, ['config', '--format', 'json'], signal)) as unknown}),
		},
		{
			id: 'compose-ps',
			group: 'compose',
			what: 'the project\'s containers as compose lists them (ps)',
			how: composeArgs(['ps', '--all', '--format', 'json']),
			file: 'compose/ps.json',
			estimate: smallItem,
			collect: async signal => ({json: parsePs(await compose(sources, ['ps', '--all', '--format', 'json'], signal))}),
		},
		{
			id: 'compose-version',
			group: 'compose',
			what: 'the Compose version',
			how: commandLine(['docker', 'compose', 'version']),
			file: 'compose/version.txt',
			estimate: 100,
			collect: async signal => {
				const result = await sources.compose.run(['version'], {signal});
				if (result.exitCode !== 0) throw new Error(`docker compose version exited ${result.exitCode}`);
				return {text: result.stdout};
			},
		},
	);

	for (const [index, c] of containers.entries()) {
		const dir = `containers/${safeName(c.name)}`;
		const label = previous.has(c.id) ? `${c.name} (a previous container of ${c.service}, left by a recreate)` : c.name;
		const size = sizes[index];
		if (size === null || size === undefined) estimateIncomplete = true;
		const raw = inspected[index];
		const tty = raw ? Boolean((raw['Config'] as {Tty?: unknown} | undefined)?.Tty) : undefined;
		const logFile = logFiles[index] ?? null;
		const fromEngine = (signal: AbortSignal) =>
			hasLogText(engine) ? engine.containerLogText(c.id, signal, tty === undefined ? {} : {tty}) : logBlocks(engine.containerLog(c.id, signal, {bytes: true}));
		const engineHow = `Engine API GET /containers/${c.id}/logs?stdout=1&stderr=1&timestamps=1&tail=all (no since: since the container was created)`;
		items.push({
			id: `container-inspect:${c.name}`,
			group: 'container',
			what: `inspect of ${label}`,
			how: `Engine API GET /containers/${c.id}/json`,
			file: `${dir}/inspect.json`,
			estimate: smallItem,
			collect: async () => {
				const value = await engine.inspectContainerRaw(c.id);
				if (!value) throw new Error('the container is gone');
				return {json: value};
			},
		});
		if (raw?.['State'] && (raw['State'] as {Health?: unknown}).Health !== undefined) {
			items.push({
				id: `container-health:${c.name}`,
				group: 'container',
				what: `health-check history of ${label}`,
				how: `Engine API GET /containers/${c.id}/json → State.Health`,
				file: `${dir}/health.json`,
				estimate: 4096,
				collect: async () => {
					const value = await engine.inspectContainerRaw(c.id);
					if (!value) throw new Error('the container is gone');
					const health = (value['State'] as {Health?: Record<string, unknown>} | undefined)?.Health ?? null;
					return {json: {container: c.name, id: c.id, health}};
				},
			});
		}
		items.push({
			id: `container-log:${c.name}`,
			group: 'container',
			what: `full log of ${label} with timestamps`,
			how: `${logFile ? `read from the json-file log ${logFile} (and the files it rotated to, oldest first): the lines ${engineHow} gives` : engineHow}, newest ${cap} bytes kept`,
			file: `${dir}/log.txt`,
			estimate: Math.min(size ?? 0, cap),
			// Byte for byte: invalid UTF-8 and binary output are evidence too.
			collect: async signal => {
				const opened = logFile ? await openJsonFileLog(logFile) : null;
				// Of a log far past the cap only its newest part is read (a quarter more than the cap: redaction may shorten it).
				let unread = 0;
				return {
					blocks: opened ? jsonFileLogText(opened, signal, {newest: Math.ceil(cap * 1.25), onUnread: bytes => (unread = bytes)}) : fromEngine(signal),
					capBytes: cap,
					encoding: 'latin1',
					unread: () => unread,
					...(logFile && !opened ? {how: `${engineHow} (its json-file log ${logFile} could not be opened whole: rotating, or removed), newest ${cap} bytes kept`} : {}),
				};
			},
		});
	}

	const imageIds = [...new Set(containers.map(c => c.imageId).filter(Boolean))];
	for (const id of imageIds) {
		const users = containers.filter(c => c.imageId === id);
		items.push({
			id: `image-inspect:${id}`,
			group: 'image',
			what: `inspect of image ${users[0]?.image ?? id} (${shortId(id)}), used by ${[...new Set(users.map(c => c.service))].join(', ')}`,
			how: `Engine API GET /images/${id}/json`,
			file: `images/${safeName(shortId(id))}.json`,
			estimate: 8192,
			collect: async () => {
				const value = await engine.inspectImageRaw(id);
				if (!value) throw new Error('the image is not on the box any more');
				return {json: value};
			},
		});
	}

	const dockerRoot = typeof info?.['DockerRootDir'] === 'string' ? info['DockerRootDir'] : '/var/lib/docker';
	items.push(
		{
			id: 'engine-events',
			group: 'engine',
			what: 'Engine events of the project over the last 24 hours',
			how: `Engine API GET /events?since=<now-24h>&until=<now>&filters={"label":["com.docker.compose.project=${projectName}"]}`,
			file: 'engine/events.jsonl',
			estimate: 256 * 1024,
			collect: async signal => {
				const until = Math.floor(now() / 1000);
				return {jsonLines: await engine.projectEvents(projectName, {since: until - eventsWindowSeconds, until}, signal)};
			},
		},
		{
			id: 'engine-info',
			group: 'engine',
			what: 'Engine info',
			how: 'Engine API GET /info',
			file: 'engine/info.json',
			estimate: smallItem,
			collect: async () => ({json: await engine.infoRaw()}),
		},
		{
			id: 'engine-version',
			group: 'engine',
			what: 'Engine version',
			how: 'Engine API GET /version',
			file: 'engine/version.json',
			estimate: 2048,
			collect: async () => ({json: await engine.versionRaw()}),
		},
		{
			id: 'engine-df',
			group: 'engine',
			what: 'Docker disk usage (system df)',
			how: 'Engine API GET /system/df',
			file: 'engine/system-df.json',
			estimate: 64 * 1024,
			collect: async () => ({json: await engine.systemDf()}),
		},
		{
			id: 'host-facts',
			group: 'host',
			what: `host facts: hostname, kernel, uptime, load, memory, disk usage of / and ${dockerRoot}`,
			how: `node:os (hostname, release, uptime, loadavg, totalmem, freemem) and statfs(/), statfs(${dockerRoot})`,
			file: 'host/facts.json',
			estimate: 2048,
			collect: async () => ({json: await hostFacts(['/', dockerRoot], now)}),
		},
	);

	if (sources.settings.health.length > 0) {
		items.push({
			id: 'health-responses',
			group: 'health',
			what: `responses of the ${sources.settings.health.length} configured health URL${sources.settings.health.length === 1 ? '' : 's'}`,
			how: `GET ${sources.settings.health.map(h => h.url).join(', ')} (ky; status, latency and the start of the body)`,
			file: 'health/responses.json',
			estimate: 2048,
			collect: async signal => ({json: await sources.probeHealth(signal)}),
		});
	}

	items.push({
		id: 'timeline',
		group: 'incident',
		what: 'the incident timeline so far',
		how: `read ${sources.timelineFile()}`,
		file: 'incident/timeline.jsonl',
		estimate: await stat(sources.timelineFile()).then(s => s.size, () => 4096),
		collect: async () => ({lines: textLines(fileBytes(sources.timelineFile())), capBytes: Number.POSITIVE_INFINITY, jsonPerLine: true}),
	});

	if (sources.ciLog) {
		const ci = sources.ciLog;
		items.push({
			id: 'ci-log',
			group: 'ci',
			what: 'the CI log the operator pointed at',
			how: `${ci.how}, newest ${cap} bytes kept`,
			file: 'ci/ci.log',
			estimate: Math.min(ci.size ?? 0, cap),
			collect: async signal => ({lines: ci.lines(signal), capBytes: cap}),
		});
		if (ci.size === null) estimateIncomplete = true;
	}

	return {
		project: projectName,
		items,
		estimateBytes: items.reduce((sum, item) => sum + item.estimate, 0),
		estimateIncomplete,
		logCapBytes: cap,
		containers: containers.length,
		images: imageIds.length,
		healthUrls: sources.settings.health.length,
		ciLog: sources.ciLog?.how ?? null,
		extraPatterns: sources.settings.redact?.patterns ?? [],
	};
}

export type {Content};
