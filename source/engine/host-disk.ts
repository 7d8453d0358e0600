import {constants} from 'node:fs';
import {open, readdir, stat, statfs} from 'node:fs/promises';
import type {DiskHost, FsUsage} from './types.js';

/**
 * The host's filesystems and the Engine's log files, for the Disk step. Everything here
 * reads without creating a file, so it works on a disk that is 100% full; `truncate` is the
 * one call that changes a file, and only the Disk step's confirmed log action calls it.
 */

export async function fsUsage(path: string): Promise<FsUsage> {
	const [fs, info] = await Promise.all([statfs(path), stat(path)]);
	const size = fs.blocks * fs.bsize;
	const used = (fs.blocks - fs.bfree) * fs.bsize;
	const free = fs.bavail * fs.bsize;
	// df's Use%: blocks reserved for root count as neither used nor available.
	const usedPercent = used + free === 0 ? 0 : (used / (used + free)) * 100;
	return {path, device: info.dev, size, used, free, usedPercent};
}

async function fileSize(path: string): Promise<{size: number; allocated: number} | null> {
	try {
		const info = await stat(path);
		return {size: info.size, allocated: info.blocks * 512};
	} catch {
		return null;
	}
}

async function readTail(path: string, {maxBytes, maxLines}: {maxBytes: number; maxLines: number}) {
	const handle = await open(path, 'r');
	try {
		const {size} = await handle.stat();
		const length = Math.min(size, maxBytes);
		const buffer = Buffer.alloc(length);
		let done = 0;
		while (done < length) {
			const {bytesRead} = await handle.read(buffer, done, length - done, size - length + done);
			if (bytesRead === 0) break;
			done += bytesRead;
		}
		let data = buffer.subarray(0, done);
		// Started mid-file: drop the partial first line.
		if (size > length) {
			const first = data.indexOf(0x0a);
			data = first === -1 ? data.subarray(data.length) : data.subarray(first + 1);
		}
		// Keep the last maxLines lines (a final newline ends the last line; it does not start one).
		let start = 0;
		let newlines = 0;
		for (let i = data.length - 2; i >= 0; i--) {
			if (data[i] === 0x0a && ++newlines === maxLines) {
				start = i + 1;
				break;
			}
		}
		const tail = data.subarray(start);
		let count = tail.length > 0 && tail[tail.length - 1] !== 0x0a ? 1 : 0;
		for (const byte of tail) if (byte === 0x0a) count++;
		return {data: tail, lines: count, fileSize: size};
	} finally {
		await handle.close();
	}
}

async function truncate(path: string): Promise<void> {
	// What `truncate -s 0` does, and never creates the file if the container is gone. The
	// json-file driver writes with O_APPEND, so it carries on at the new end.
	const handle = await open(path, constants.O_WRONLY | constants.O_TRUNC);
	await handle.close();
}

async function peek(path: string, limit: number): Promise<{names: string[]; total: number} | null> {
	try {
		const names = (await readdir(path)).sort();
		return {names: names.slice(0, limit), total: names.length};
	} catch {
		return null;
	}
}

export const localDiskHost: DiskHost = {fsUsage, fileSize, readTail, truncate, peek};
