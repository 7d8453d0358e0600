// The Engine's answers turned into the engine layer's plain records. Their own module, with
// no imports but types: `status` maps inspect output and events without loading dockerode's
// wrappers or the stream followers (each module loaded is start-up time).
import type Docker from 'dockerode';
import type {ContainerAction, ContainerEvent, ContainerInfo, ContainerState, Health, ImageInfo, RepositoryImage} from './types.js';

/** The container actions followed (the Engine matches "health_status" against "health_status: …" by prefix). */
export const containerActions = new Set<string>([
	'create',
	'start',
	'die',
	'restart',
	'kill',
	'oom',
	'stop',
	'destroy',
	'pause',
	'unpause',
	'health_status',
]);

const states = new Set<ContainerState>(['running', 'restarting', 'exited', 'created', 'paused', 'dead', 'removing']);

function toHealth(value: string | undefined): Health {
	return value === 'healthy' || value === 'unhealthy' || value === 'starting' ? value : 'none';
}

// The Engine reports "0001-01-01T00:00:00Z" for times that never happened.
function toTime(value: string | undefined): string | null {
	return !value || value.startsWith('0001-') ? null : value;
}

export function toContainerInfo(inspect: Docker.ContainerInspectInfo): ContainerInfo {
	const labels = inspect.Config?.Labels ?? {};
	const state = inspect.State;
	const status = (state?.Status ?? 'created') as ContainerState;
	const finishedAt = toTime(state?.FinishedAt);
	return {
		id: inspect.Id,
		name: inspect.Name.replace(/^\//, ''),
		project: labels['com.docker.compose.project'] ?? '',
		service: labels['com.docker.compose.service'] ?? '',
		number: Number(labels['com.docker.compose.container-number'] ?? 1),
		state: states.has(status) ? status : 'created',
		health: toHealth(state?.Health?.Status),
		restartCount: inspect.RestartCount ?? 0,
		// ExitCode is 0 for a container that never exited: only trust it once it finished.
		exitCode: finishedAt === null ? null : (state?.ExitCode ?? null),
		oomKilled: Boolean(state?.OOMKilled),
		startedAt: toTime(state?.StartedAt),
		finishedAt,
		createdAt: inspect.Created,
		image: inspect.Config?.Image ?? '',
		imageId: inspect.Image,
		labels,
	};
}

export function toImageInfo(i: {Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Created: string; Size: number}): ImageInfo {
	return {id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [], created: i.Created, size: i.Size};
}

// ---------------------------------------------------------------- events

export type ImageSummary = {Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Created: number; Size: number};

/** A listed image as one repository's: its tags and repo digest within that repository. */
export function repositoryImage(i: ImageSummary, repository: string): RepositoryImage {
	const repoTags = i.RepoTags ?? [];
	const repoDigests = i.RepoDigests ?? [];
	return {
		id: i.Id,
		repoTags,
		repoDigests,
		created: new Date(i.Created * 1000).toISOString(),
		size: i.Size,
		tags: repoTags.filter(t => t.startsWith(`${repository}:`)).map(t => t.slice(repository.length + 1)),
		digest: repoDigests.find(d => d.startsWith(`${repository}@`))?.slice(repository.length + 1) ?? null,
	};
}

/** The Engine's /events answer (a JSON object per line) as records; a line cut off by an abort is left out, the rest is still evidence. */
export function rawEventsFromText(text: string): Array<Record<string, unknown>> {
	const events: Array<Record<string, unknown>> = [];
	for (const line of text.split('\n')) {
		if (line.trim() === '') continue;
		try {
			events.push(JSON.parse(line) as Record<string, unknown>);
		} catch {
			// Cut off: the rest still counts.
		}
	}
	return events;
}

export interface RawEvent {
	event: ContainerEvent;
	timeNano: bigint;
	key: string;
}

export function toEvent(line: string): RawEvent | null {
	let message: {
		Type?: string;
		Action?: string;
		id?: string;
		time?: number;
		Actor?: {ID?: string; Attributes?: Record<string, string>};
	};
	try {
		message = JSON.parse(line) as typeof message;
	} catch {
		return null;
	}
	const raw = message.Action ?? '';
	// Health changes arrive as one action with the status appended: "health_status: healthy".
	const [head = '', detail] = raw.split(': ', 2);
	if (message.Type !== 'container' || !containerActions.has(head)) return null;
	// timeNano does not fit a double: read it from the text.
	const nano = /"timeNano":(\d+)/.exec(line)?.[1];
	const timeNano = nano ? BigInt(nano) : BigInt(message.time ?? 0) * 1_000_000_000n;
	const attributes = message.Actor?.Attributes ?? {};
	const containerId = message.Actor?.ID ?? message.id ?? '';
	const health = detail === 'healthy' || detail === 'unhealthy' || detail === 'starting' ? detail : null;
	const exitCode = head === 'die' && attributes['exitCode'] !== undefined ? Number(attributes['exitCode']) : null;
	return {
		event: {
			time: Number(timeNano / 1_000_000n),
			action: head as ContainerAction,
			containerId,
			name: attributes['name'] ?? '',
			service: attributes['com.docker.compose.service'] ?? '',
			exitCode,
			health: head === 'health_status' ? health : null,
		},
		timeNano,
		key: `${timeNano}:${containerId}:${raw}`,
	};
}

/** An Engine answer, or null when it says 404 (a container removed since it was listed, an image not here). */
export async function orNotFound<T>(work: () => Promise<T>): Promise<T | null> {
	try {
		return await work();
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) return null;
		throw error;
	}
}

/**
 * A compose project's service containers, one-off `run` containers left out, each inspected
 * (by the transport's own call); one removed between the list and its inspect is simply gone.
 */
export async function serviceContainers(
	list: ReadonlyArray<{Id: string; Labels: Record<string, string>}>,
	inspect: (id: string) => Promise<Docker.ContainerInspectInfo>,
): Promise<ContainerInfo[]> {
	const inspected = await Promise.all(list.filter(c => c.Labels['com.docker.compose.oneoff'] !== 'True').map(c => orNotFound(() => inspect(c.Id))));
	return inspected.filter(i => i !== null).map(toContainerInfo);
}
