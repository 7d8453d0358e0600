import type {ComposeConfig, ContainerEvent, ContainerInfo, ContainerState, Health, ImageInfo} from '../engine/types.js';
import {crashLoopOf, type CrashLoop} from './crash-loop.js';
import {digestFor, parseImageRef} from '../engine/image-ref.js';

/** `crash-looping`: restarted by its policy within the crash window, or up for less than Docker's restart backoff since. */
export type ServiceState = ContainerState | 'crash-looping' | 'missing';

export interface ContainerStatus {
	name: string;
	id: string;
	state: ContainerState | 'crash-looping';
	health: Health;
	restartCount: number;
	exitCode: number | null;
	oomKilled: boolean;
	startedAt: string | null;
	/** When the container was created (absent in in-memory fixtures): a failure's start is told by it. */
	createdAt?: string | null;
	uptimeSeconds: number | null;
}

export interface ServiceStatus {
	service: string;
	containers: ContainerStatus[];
	/** The worst state among the service's containers; `missing` when it has none. */
	state: ServiceState;
	health: Health;
	restartCount: number;
	exitCode: number | null;
	uptimeSeconds: number | null;
	image: {
		/** As configured (after interpolation) in the Compose file. */
		configured: string | null;
		/** The tag the running container was created from. */
		tag: string | null;
		id: string | null;
		digest: string | null;
	};
	healthcheck: boolean;
	/** Why the service counts as crash-looping (the worst of its containers); null when it does not. */
	crashLoop: CrashLoop | null;
	ok: boolean;
}

export interface ProjectStatus {
	project: string;
	workingDir: string;
	engine: {address: string; version: string; apiVersion: string};
	checkedAt: string;
	ok: boolean;
	services: ServiceStatus[];
}

// Worst first: the order a broken service is shown and a service's state is summarised by.
const stateRank: Record<ServiceState, number> = {
	missing: 0,
	'crash-looping': 0.5,
	dead: 1,
	exited: 2,
	restarting: 3,
	removing: 4,
	created: 5,
	paused: 6,
	running: 7,
};
const healthRank: Record<Health, number> = {unhealthy: 0, starting: 1, none: 2, healthy: 3};

function uptime(container: ContainerInfo, now: number): number | null {
	if (container.state !== 'running' || !container.startedAt) return null;
	return Math.max(0, Math.floor((now - Date.parse(container.startedAt)) / 1000));
}

function toContainerStatus(c: ContainerInfo, now: number, loop: CrashLoop | null): ContainerStatus {
	return {
		name: c.name,
		id: c.id,
		state: loop ? 'crash-looping' : c.state,
		health: c.health,
		restartCount: c.restartCount,
		// Docker says 0 while a restarted container runs: the last real exit is the crash's.
		exitCode: loop ? (loop.lastExitCode ?? (c.state === 'running' ? null : c.exitCode)) : c.exitCode,
		oomKilled: c.oomKilled,
		startedAt: c.startedAt,
		createdAt: c.createdAt,
		uptimeSeconds: uptime(c, now),
	};
}

/** A container is fine when it runs, and is healthy where it has a healthcheck. */
export function containerOk(c: {state: ServiceState; health: Health}): boolean {
	return c.state === 'running' && (c.health === 'healthy' || c.health === 'none');
}

/** The project's recent container events (die/start/kill/stop) and the crash window they cover. */
export interface RestartHistory {
	events: readonly ContainerEvent[];
	windowMs: number;
}

/**
 * Joins what the Compose file declares with what the Engine runs: one row per service,
 * broken services first. Services with no container are `missing`; with `history`, a
 * service restarted by its policy within the window is `crash-looping`, even when caught
 * between two crashes.
 */
export function buildServiceStatus(
	config: ComposeConfig,
	containers: readonly ContainerInfo[],
	images: ReadonlyMap<string, ImageInfo>,
	now: number,
	history: RestartHistory = {events: [], windowMs: 5 * 60_000},
): ServiceStatus[] {
	const names = new Set(Object.keys(config.services));
	const rows: ServiceStatus[] = [];
	for (const service of names) {
		const declared = config.services[service]!;
		const mine = containers.filter(c => c.service === service).sort((a, b) => a.number - b.number);
		const loops = mine.map(c => crashLoopOf(c, history.events, history.windowMs, now));
		const statuses = mine.map((c, i) => toContainerStatus(c, now, loops[i]!));
		const crashLoop = loops.filter(l => l !== null).sort((a, b) => b.restarts - a.restarts)[0] ?? null;
		const worst = [...statuses].sort(
			(a, b) => stateRank[a.state] - stateRank[b.state] || healthRank[a.health] - healthRank[b.health],
		)[0];
		const first = mine[0];
		const image = first ? images.get(first.imageId) : undefined;
		const reference = first?.image ?? declared.image;
		const state: ServiceState = worst?.state ?? 'missing';
		const health: Health = worst?.health ?? 'none';
		rows.push({
			service,
			containers: statuses,
			state,
			health,
			restartCount: statuses.reduce((sum, c) => sum + c.restartCount, 0),
			exitCode: worst?.exitCode ?? null,
			uptimeSeconds: worst?.uptimeSeconds ?? null,
			image: {
				configured: declared.image,
				tag: reference ? parseImageRef(reference).tag : null,
				id: first?.imageId ?? null,
				digest: reference && image ? digestFor(reference, image.repoDigests) : null,
			},
			healthcheck: declared.healthcheck,
			crashLoop,
			ok: statuses.length > 0 && statuses.every(containerOk),
		});
	}
	// Broken services first, worst first; healthy ones by name.
	return rows.sort(
		(a, b) =>
			Number(a.ok) - Number(b.ok) ||
			(a.ok ? 0 : stateRank[a.state] - stateRank[b.state] || healthRank[a.health] - healthRank[b.health]) ||
			// Not localeCompare: its first call loads ICU's collation, ~10 ms of `status`'s start.
			(a.service < b.service ? -1 : a.service > b.service ? 1 : 0),
	);
}
