import type {ComposeConfig, ContainerInfo, ContainerState, Health, ImageInfo} from '../engine/types.js';
import {digestFor, parseImageRef} from '../engine/image-ref.js';

export type ServiceState = ContainerState | 'missing';

export interface ContainerStatus {
	name: string;
	id: string;
	state: ContainerState;
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

function toContainerStatus(c: ContainerInfo, now: number): ContainerStatus {
	return {
		name: c.name,
		id: c.id,
		state: c.state,
		health: c.health,
		restartCount: c.restartCount,
		exitCode: c.exitCode,
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

/**
 * Joins what the Compose file declares with what the Engine runs: one row per service,
 * broken services first. Services with no container are `missing`.
 */
export function buildServiceStatus(
	config: ComposeConfig,
	containers: readonly ContainerInfo[],
	images: ReadonlyMap<string, ImageInfo>,
	now: number,
): ServiceStatus[] {
	const names = new Set(Object.keys(config.services));
	const rows: ServiceStatus[] = [];
	for (const service of names) {
		const declared = config.services[service]!;
		const mine = containers.filter(c => c.service === service).sort((a, b) => a.number - b.number);
		const statuses = mine.map(c => toContainerStatus(c, now));
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
			ok: statuses.length > 0 && statuses.every(containerOk),
		});
	}
	// Broken services first, worst first; healthy ones by name.
	return rows.sort(
		(a, b) =>
			Number(a.ok) - Number(b.ok) ||
			(a.ok ? 0 : stateRank[a.state] - stateRank[b.state] || healthRank[a.health] - healthRank[b.health]) ||
			a.service.localeCompare(b.service),
	);
}
