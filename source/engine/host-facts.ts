import {statfs} from 'node:fs/promises';
import os from 'node:os';

export interface DiskUsage {
	path: string;
	totalBytes: number;
	freeBytes: number;
	/** Free to unprivileged users (what `df` shows as Avail). */
	availableBytes: number;
	usedPercent: number;
	inodesTotal: number;
	inodesFree: number;
}

export interface HostFacts {
	hostname: string;
	kernel: string;
	os: string;
	arch: string;
	uptimeSeconds: number;
	loadAverage: number[];
	cpus: number;
	memory: {totalBytes: number; freeBytes: number};
	disks: Array<DiskUsage | {path: string; error: string}>;
	time: string;
}

/** Like `df`: the filesystem that holds `path`. */
export async function diskUsage(path: string): Promise<DiskUsage> {
	const s = await statfs(path);
	const total = s.blocks * s.bsize;
	const free = s.bfree * s.bsize;
	const available = s.bavail * s.bsize;
	// df's Use%: used / (used + available), rounded up.
	const used = total - free;
	return {
		path,
		totalBytes: total,
		freeBytes: free,
		availableBytes: available,
		usedPercent: used + available === 0 ? 0 : Math.ceil((used / (used + available)) * 100),
		inodesTotal: s.files,
		inodesFree: s.ffree,
	};
}

/** Facts about this machine for the postmortem: who, what kernel, how loaded, how full. */
export async function hostFacts(diskPaths: readonly string[], now: () => number = Date.now): Promise<HostFacts> {
	const disks = await Promise.all(
		[...new Set(diskPaths)].map(async path => {
			try {
				return await diskUsage(path);
			} catch (error) {
				return {path, error: (error as NodeJS.ErrnoException).code ?? String(error)};
			}
		}),
	);
	return {
		hostname: os.hostname(),
		kernel: os.release(),
		os: `${os.type()} ${os.version()}`,
		arch: os.arch(),
		uptimeSeconds: Math.round(os.uptime()),
		loadAverage: os.loadavg().map(n => Math.round(n * 100) / 100),
		cpus: os.availableParallelism(),
		memory: {totalBytes: os.totalmem(), freeBytes: os.freemem()},
		disks,
		time: new Date(now()).toISOString(),
	};
}
