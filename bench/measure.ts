// Side-by-side timing helpers: alternate the contenders in one run so drift hits both alike.
import {spawnSync} from 'node:child_process';

export interface Contender {
	name: string;
	command: string[];
	cwd?: string;
	env?: NodeJS.ProcessEnv;
}

export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function once(contender: Contender): number {
	const [command, ...args] = contender.command;
	const start = process.hrtime.bigint();
	const result = spawnSync(command!, args, {cwd: contender.cwd, env: {...process.env, ...contender.env}, stdio: ['ignore', 'ignore', 'pipe']});
	const ms = Number(process.hrtime.bigint() - start) / 1e6;
	if (result.error) throw result.error;
	if (result.status !== 0 && result.status !== 1) throw new Error(`${contender.name} exited ${result.status}: ${result.stderr}`);
	return ms;
}

/** Median wall time of each contender over `runs` alternating runs, after `warmup` each. */
export function compare(contenders: Contender[], {runs = 21, warmup = 3} = {}): Map<string, number> {
	for (const c of contenders) for (let i = 0; i < warmup; i++) once(c);
	const times = new Map(contenders.map(c => [c.name, [] as number[]]));
	for (let i = 0; i < runs; i++) for (const c of contenders) times.get(c.name)!.push(once(c));
	return new Map([...times].map(([name, t]) => [name, median(t)]));
}
