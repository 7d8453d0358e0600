import {randomBytes} from 'node:crypto';
import {link, open, readFile, rename, stat, unlink} from 'node:fs/promises';
import {dirname} from 'node:path';

/**
 * Durable file writes for the state dir. Rule (DESIGN.md): never truncate an existing
 * file in place. A whole file is written beside its target and renamed over it; a log
 * only ever grows, one fsync'd line at a time.
 */

type Data = string | Uint8Array;

const toBuffer = (data: Data): Buffer => (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));

const tmpName = (file: string) => `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

export const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** ENOSPC or EDQUOT: the write failed for want of space, not because of a bug. */
export const isDiskFull = (error: unknown): boolean => {
	const code = errorCode(error);
	return code === 'ENOSPC' || code === 'EDQUOT';
};

/** Flushes a directory entry (a create or rename) to disk. Some filesystems refuse; that is fine. */
export async function syncDir(dir: string): Promise<void> {
	let handle;
	try {
		handle = await open(dir, 'r');
		await handle.sync();
	} catch (error) {
		if (!['EINVAL', 'EISDIR', 'EBADF', 'EPERM', 'EACCES', 'ENOTSUP'].includes(errorCode(error) ?? '')) throw error;
	} finally {
		await handle?.close();
	}
}

/** Writes a sibling temp file completely and durably; the caller moves it into place. */
async function writeTemp(file: string, data: Data, mode: number): Promise<string> {
	const tmp = tmpName(file);
	const handle = await open(tmp, 'wx', mode);
	try {
		// The umask may have taken bits off the mode open() was given.
		await handle.chmod(mode);
		await writeAll(handle, toBuffer(data));
		await handle.sync();
	} catch (error) {
		await handle.close().catch(() => {});
		await unlink(tmp).catch(() => {});
		throw error;
	}
	await handle.close();
	return tmp;
}

/**
 * Replaces `file` with `data`: readers see the old content or the new, never a mix, and a
 * failed write (a full disk, a crash) leaves the old file as it was.
 */
export async function writeFileAtomic(file: string, data: Data, {mode = 0o600}: {mode?: number} = {}): Promise<void> {
	const tmp = await writeTemp(file, data, mode);
	try {
		await rename(tmp, file);
	} catch (error) {
		await unlink(tmp).catch(() => {});
		throw error;
	}
	await syncDir(dirname(file));
}

/**
 * Creates `file` with `data` only if it does not exist yet, all at once: nobody ever sees
 * it half written. Returns false (and writes nothing) when it already exists.
 */
export async function createFileExclusive(file: string, data: Data, {mode = 0o600}: {mode?: number} = {}): Promise<boolean> {
	const tmp = await writeTemp(file, data, mode);
	try {
		// link(), unlike rename(), fails when the target exists.
		await link(tmp, file);
	} catch (error) {
		if (errorCode(error) === 'EEXIST') return false;
		throw error;
	} finally {
		await unlink(tmp).catch(() => {});
	}
	await syncDir(dirname(file));
	return true;
}

async function writeAll(handle: Awaited<ReturnType<typeof open>>, buffer: Buffer): Promise<void> {
	let offset = 0;
	while (offset < buffer.length) {
		// A short write is not an error; the next write reports why (ENOSPC).
		const {bytesWritten} = await handle.write(buffer, offset, buffer.length - offset);
		offset += bytesWritten;
	}
}

/** Appends `text` as it is, with one write on an O_APPEND descriptor, then fsyncs. */
export async function appendText(file: string, text: Data, {mode = 0o600}: {mode?: number} = {}): Promise<void> {
	const handle = await open(file, 'a', mode);
	try {
		await writeAll(handle, toBuffer(text));
		await handle.sync();
	} finally {
		await handle.close();
	}
}

/** Appends one line (a newline is added; the line must not contain one) and fsyncs. */
export async function appendLine(file: string, line: string): Promise<void> {
	await appendLines(file, [line]);
}

/**
 * Appends whole lines in one write and fsyncs. After a torn last line (a crash mid-write) the
 * first one starts on a fresh line, so the torn one stays skipped and no new line is lost to it.
 */
export async function appendLines(file: string, lines: readonly string[], {mode = 0o600}: {mode?: number} = {}): Promise<void> {
	if (lines.some(line => line.includes('\n'))) throw new Error(`appendLines: a line for ${file} contains a newline`);
	const handle = await open(file, 'a+', mode);
	try {
		const {size} = await handle.stat();
		const last = Buffer.alloc(1);
		const torn = size > 0 && (await handle.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] !== 0x0a;
		await writeAll(handle, toBuffer(`${torn ? '\n' : ''}${lines.map(line => `${line}\n`).join('')}`));
		await handle.sync();
	} finally {
		await handle.close();
	}
}

export interface JsonLinesScan<T> {
	records: T[];
	/** 1-based numbers of lines that did not parse: a torn last line, or an older torn line since terminated. */
	skipped: number[];
	/** The file does not end in a newline: the last line was torn by a crash mid-write (or is unfinished). */
	torn: boolean;
}

/** Parses JSONL from a buffer; damaged lines are skipped and reported, never fatal. */
export function parseJsonLines<T>(content: string): JsonLinesScan<T> {
	const records: T[] = [];
	const skipped: number[] = [];
	const lines = content.split('\n');
	lines.forEach((line, index) => {
		if (line.trim() === '') return;
		try {
			records.push(JSON.parse(line) as T);
		} catch {
			skipped.push(index + 1);
		}
	});
	return {records, skipped, torn: content.length > 0 && !content.endsWith('\n')};
}

/** Every record of a JSONL file with what was skipped; a missing file is empty. */
export async function scanJsonLines<T>(file: string): Promise<JsonLinesScan<T>> {
	let content: string;
	try {
		content = await readFile(file, 'utf8');
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return {records: [], skipped: [], torn: false};
		throw error;
	}
	return parseJsonLines<T>(content);
}

/**
 * Every record of a JSONL file. A torn last line (a crash mid-write) is skipped, as is a
 * torn line that a later append terminated; a missing file is [].
 */
export async function readJsonLines<T>(file: string): Promise<T[]> {
	return (await scanJsonLines<T>(file)).records;
}

/**
 * Deletes `file` only if it is still the inode `ino`. It is moved aside first: of several
 * processes that decided to remove it only one moves it, and a fresh file someone
 * created in between is put back. True when it is gone.
 */
export async function removeIfSame(file: string, ino: number): Promise<boolean> {
	const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
	try {
		await rename(file, aside);
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return true;
		throw error;
	}
	const moved = await stat(aside);
	if (moved.ino !== ino) {
		await link(aside, file).catch(() => {});
		await unlink(aside).catch(() => {});
		return false;
	}
	await unlink(aside).catch(() => {});
	return true;
}
