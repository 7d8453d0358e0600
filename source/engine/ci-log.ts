import {createReadStream} from 'node:fs';
import {stat} from 'node:fs/promises';
import path from 'node:path';
import {ConsoleError} from '../errors.js';

export interface CiLogSource {
	/** How it is read, for the manifest: `read FILE` or `GET URL (ky)`. */
	how: string;
	/** Bytes of the source when known beforehand (a file), for the size estimate. */
	size: number | null;
	/** The log's lines (without their newline), read as they arrive. */
	lines(signal: AbortSignal): AsyncIterable<string>;
}

/** Splits a byte stream into lines (UTF-8), the last one without its newline too. */
export async function* textLines(chunks: AsyncIterable<Uint8Array>): AsyncIterable<string> {
	const decoder = new TextDecoder();
	let rest = '';
	for await (const chunk of chunks) {
		rest += decoder.decode(chunk, {stream: true});
		const parts = rest.split('\n');
		rest = parts.pop() ?? '';
		for (const line of parts) yield line.endsWith('\r') ? line.slice(0, -1) : line;
	}
	rest += decoder.decode();
	if (rest !== '') yield rest;
}

const isUrl = (source: string) => /^https?:\/\//i.test(source);

/** The CI log the operator pointed at with --ci-log: a file on this box, or an http(s) URL. */
export async function ciLogSource(source: string, cwd: string = process.cwd()): Promise<CiLogSource> {
	if (isUrl(source)) {
		if (!URL.canParse(source)) throw new ConsoleError(`--ci-log ${source}: not a valid URL`);
		// The URL itself may carry a token: the manifest gets it without its query and userinfo.
		const shown = new URL(source);
		const how = `GET ${shown.origin}${shown.pathname}${shown.search ? '?…' : ''} (ky)`;
		return {
			how,
			size: null,
			async *lines(signal) {
				// ky and the probe's wording loaded only for a CI log given as a URL: not on every capture's start.
				const [{default: ky}, {describeProbeError}] = await Promise.all([import('ky'), import('./http-probe.js')]);
				let response: Response;
				try {
					response = await ky.get(source, {timeout: 30_000, retry: 1, signal});
				} catch (error) {
					const status = (error as {response?: Response}).response?.status;
					throw new Error(status ? `HTTP ${status}` : describeProbeError(error, 30_000, signal));
				}
				if (!response.body) return;
				yield* textLines(response.body as unknown as AsyncIterable<Uint8Array>);
			},
		};
	}
	const file = path.resolve(cwd, source);
	let size: number;
	try {
		const info = await stat(file);
		if (!info.isFile()) throw new ConsoleError(`--ci-log ${source}: not a file`);
		size = info.size;
	} catch (error) {
		if (error instanceof ConsoleError) throw error;
		throw new ConsoleError(`--ci-log ${source}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((error as Error).message)}`);
	}
	return {
		how: `read ${file}`,
		size,
		lines: signal => textLines(createReadStream(file, {signal}) as AsyncIterable<Buffer>),
	};
}
