import {createHash, randomBytes} from 'node:crypto';
import {createReadStream, createWriteStream} from 'node:fs';
import {pipeline} from 'node:stream/promises';
import {createGzip} from 'node:zlib';
import {link, mkdir, open, readdir, stat, unlink} from 'node:fs/promises';
import path from 'node:path';
import {ConsoleError} from '../../errors.js';
import {errorCode, syncDir, writeFileAtomic} from '../atomic-file.js';
import type {BundleFile} from './types.js';

/**
 * zlib's level for the bundle. A bundle is written once, during an incident, and read rarely:
 * level 1 takes about half the time and CPU of the default 6 (20 MB of varied log: 150–245 ms
 * against 357–419 ms, 123 against 246 ms of CPU) for a bundle 4–8% bigger.
 */
const archiveGzipLevel = 1;

export async function sha256File(file: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

/** The line `sha256sum` writes and `sha256sum -c` checks: `<hex>  <name>`. */
export const sidecarLine = (sha256: string, file: string) => `${sha256}  ${path.basename(file)}\n`;

/** Fails now when `--out` cannot be used (an existing file, a missing directory). */
export async function checkOut(out: string | undefined, cwd: string = process.cwd()): Promise<void> {
	if (out === undefined) return;
	const target = path.resolve(cwd, out);
	if ((await stat(target).catch(() => null))?.isDirectory()) return;
	await resolveOut(out, 'bundle.tar.gz', cwd);
}

/**
 * Where a bundle goes: `--out FILE` (never over an existing file), `--out DIR` (the default
 * name inside it), or the default path. Checked before a capture starts, so a bad --out
 * fails at once, not after minutes of collecting.
 */
export async function resolveOut(out: string | undefined, defaultFile: string, cwd: string = process.cwd()): Promise<string | null> {
	if (out === undefined) return null;
	const target = path.resolve(cwd, out);
	const info = await stat(target).catch(error => {
		if (errorCode(error) === 'ENOENT') return null;
		throw new ConsoleError(`--out ${out}: cannot be read (${errorCode(error) ?? String(error)})`);
	});
	if (info?.isDirectory()) {
		const file = path.join(target, path.basename(defaultFile));
		if (await stat(file).then(() => true, () => false)) throw new ConsoleError(`--out ${out}: ${file} already exists; refusing to overwrite it`);
		return file;
	}
	if (info) throw new ConsoleError(`--out ${out}: ${target} already exists; refusing to overwrite it (choose another name)`);
	const parent = path.dirname(target);
	const parentInfo = await stat(parent).catch(() => null);
	if (!parentInfo?.isDirectory()) throw new ConsoleError(`--out ${out}: ${parent} is not a directory`);
	return target;
}

/**
 * Writes `entries` (paths relative to `cwd`) as a gzip'd tar under the directory `prefix`:
 * to a temp file (0600) first, linked into place only when whole (an existing file is
 * never replaced), then `FILE.sha256` beside it.
 */
export async function writeArchive(options: {cwd: string; entries: string[]; prefix: string; file: string}): Promise<BundleFile> {
	const {file} = options;
	await mkdir(path.dirname(file), {recursive: true, mode: 0o700});
	const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
	// Created 0600 before tar opens it: the archive is never readable by others, not even half written.
	const handle = await open(tmp, 'wx', 0o600);
	await handle.chmod(0o600);
	await handle.close();
	try {
		// gzip through node's zlib stream, which compresses on libuv's thread pool, not tar's own
		// (on the main thread); hashed on the way to the disk instead of read back afterwards.
		const hash = createHash('sha256');
		const tar = await loadTar();
		await pipeline(
			tar.create({portable: true, cwd: options.cwd, prefix: options.prefix}, options.entries),
			createGzip({level: archiveGzipLevel}),
			async function* (chunks: AsyncIterable<Buffer>) {
				for await (const chunk of chunks) {
					hash.update(chunk);
					yield chunk;
				}
			},
			createWriteStream(tmp, {flags: 'r+'}),
		);
		const synced = await open(tmp, 'r+');
		await synced.sync();
		await synced.close();
		const sha256 = hash.digest('hex');
		try {
			await link(tmp, file);
		} catch (error) {
			if (errorCode(error) === 'EEXIST') throw new ConsoleError(`${file} already exists; refusing to overwrite it`);
			throw error;
		}
		await syncDir(path.dirname(file));
		const sidecar = `${file}.sha256`;
		await writeFileAtomic(sidecar, sidecarLine(sha256, file), {mode: 0o600});
		return {file, sha256, bytes: (await stat(file)).size, sidecar};
	} finally {
		await unlink(tmp).catch(() => {});
	}
}

// node-tar is a third of what `capture` loads: it loads beside the collecting (loadTar() at
// the capture's start), not before the first log is asked for.
let tarModule: Promise<typeof import('tar')> | null = null;
export const loadTar = () => (tarModule ??= import('tar'));

/** Every file under `dir`, relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
	const entries = await readdir(dir, {recursive: true, withFileTypes: true});
	return entries
		.filter(entry => entry.isFile())
		.map(entry => path.relative(dir, path.join(entry.parentPath, entry.name)))
		.sort();
}
