import type {ComposeService, ContainerInfo, Engine} from '../../engine/types.js';

/**
 * What `docker compose up --wait` waits for, watched on the Engine's events instead of
 * compose's poll (compose looks every 500 ms, the first time 500 ms after the start: a
 * service healthy just after a look is heard of up to half a second late, on every rollback).
 * Same conditions, same words on failure: every container of every service in the project
 * running, healthy where it has a healthcheck; a service another one waits on with
 * `condition: service_completed_successfully` exited 0 instead.
 */

export type ServiceCondition = 'running-or-healthy' | 'completed';

/** Per service of the project (as `compose config` lists it): what `up --wait` waits for. */
export function waitConditions(services: Record<string, Pick<ComposeService, 'dependsOn'>>): Map<string, ServiceCondition> {
	const completed = new Set<string>();
	for (const service of Object.values(services)) {
		for (const [name, condition] of Object.entries(service.dependsOn ?? {})) if (condition === 'service_completed_successfully') completed.add(name);
	}
	return new Map(Object.keys(services).map(name => [name, completed.has(name) ? 'completed' : 'running-or-healthy']));
}

export type Look =
	| {state: 'ready'}
	| {state: 'waiting'; on: string[]}
	| {state: 'failed'; service: string; message: string};

/** One look at the containers, judged as compose's wait judges them. */
export function judgeServices(containers: readonly ContainerInfo[], conditions: ReadonlyMap<string, ServiceCondition>): Look {
	const on: string[] = [];
	for (const c of containers) {
		const condition = conditions.get(c.service);
		// Not a service of this project any more (an orphan): compose does not wait for it either.
		if (!condition) continue;
		if (condition === 'completed') {
			if (c.state !== 'exited') on.push(`${c.service} ${c.state}`);
			else if (c.exitCode !== 0) return {state: 'failed', service: c.service, message: `service "${c.service}" didn't complete successfully: exit ${c.exitCode}`};
			continue;
		}
		if (c.state === 'exited' || c.state === 'dead') return {state: 'failed', service: c.service, message: `container ${c.name} exited (${c.exitCode ?? '?'})`};
		if (c.health === 'unhealthy') return {state: 'failed', service: c.service, message: `container ${c.name} is unhealthy`};
		if (c.state !== 'running') on.push(`${c.service} ${c.state}`);
		else if (c.health === 'starting') on.push(`${c.service} starting`);
	}
	return on.length === 0 ? {state: 'ready'} : {state: 'waiting', on: [...new Set(on)]};
}

export interface WaitOutcome {
	ok: boolean;
	/** Compose's words for the failure (or the timeout, naming what was still waited on); null when ok. */
	message: string | null;
	service: string | null;
	/** The containers at the last look: what the checks after the wait read. */
	containers: ContainerInfo[];
	ms: number;
}

/**
 * The project's container events, followed from now on: each event (and the stream coming up
 * or going down) wakes whoever waits. Started as `up` starts, so it is live before `up` returns.
 */
export function watchProject(engine: Engine, project: string): {changed: () => Promise<void>; live: () => boolean; stop: () => void} {
	const controller = new AbortController();
	let live = false;
	let wake: () => void = () => {};
	let next = new Promise<void>(resolve => (wake = resolve));
	const poke = () => {
		wake();
		next = new Promise<void>(resolve => (wake = resolve));
	};
	engine
		.watchEvents(project, {onEvent: poke, onState: state => ((live = state === 'live'), poke())}, controller.signal)
		.catch(() => (live = false));
	return {changed: () => next, live: () => live, stop: () => controller.abort()};
}

/**
 * Waits until every service is ready, one fails, or `timeoutMs` passes. A look follows each
 * event; without live events it looks every 250 ms, and every 2 s regardless (a safety net).
 */
export async function waitForServices(
	engine: Pick<Engine, 'projectContainers'>,
	project: string,
	conditions: ReadonlyMap<string, ServiceCondition>,
	options: {timeoutMs: number; watch?: ReturnType<typeof watchProject> | null; now?: () => number},
): Promise<WaitOutcome> {
	const now = options.now ?? Date.now;
	const started = now();
	for (;;) {
		// Taken before the look: an event during it wakes the next round at once.
		const changed = options.watch?.changed();
		const containers = await engine.projectContainers(project);
		const look = judgeServices(containers, conditions);
		const ms = now() - started;
		if (look.state === 'ready') return {ok: true, message: null, service: null, containers, ms};
		if (look.state === 'failed') return {ok: false, message: look.message, service: look.service, containers, ms};
		const left = options.timeoutMs - ms;
		if (left <= 0) {
			return {
				ok: false,
				message: `application not healthy after ${Math.round(options.timeoutMs / 1000)} s: ${look.on.join(', ')}`,
				service: look.on[0]!.split(' ')[0]!,
				containers,
				ms,
			};
		}
		const pollMs = options.watch?.live() ? 2000 : 250;
		let timer: NodeJS.Timeout | undefined;
		await Promise.race([changed, new Promise<void>(resolve => (timer = setTimeout(resolve, Math.min(pollMs, left))))]);
		clearTimeout(timer);
	}
}
