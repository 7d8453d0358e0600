import {createHash} from 'node:crypto';
import {mkdir, open, rename, unlink} from 'node:fs/promises';
import path from 'node:path';
import {addCounts, LineRedactor, redact, redactJson, type RedactionCounts, type RedactOptions} from '../redaction.js';
import type {Content} from './types.js';
import {errorText} from '../../presentation/text.js';

export interface Written {
	bytes: number;
	sha256: string;
	truncated: boolean;
	note: string | null;
	redactions: RedactionCounts;
	/** The content broke off midway (a log stream lost): what came is written, and this says why it stopped. */
	error: string | null;
}

export interface WriteOptions {
	/** Redact (the default); false only for an explicit --no-redact. */
	redact: boolean;
	redactOptions: RedactOptions;
}

const MiB = 1024 * 1024;

export function formatMiB(bytes: number): string {
	if (bytes < MiB) return `${bytes} bytes`;
	return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** `buffers` without their first `bytes` (what a short writev left). */
function rest(buffers: readonly Buffer[], bytes: number): Buffer[] {
	let skip = bytes;
	const out: Buffer[] = [];
	for (const buffer of buffers) {
		if (skip >= buffer.length) {
			skip -= buffer.length;
			continue;
		}
		out.push(skip > 0 ? buffer.subarray(skip) : buffer);
		skip = 0;
	}
	return out;
}

/** A file of the bundle: created exclusively, 0600, hashed as it is written, fsync'd. */
class BundleFileWriter {
	readonly #hash = createHash('sha256');
	#bytes = 0;
	#pending: Buffer[] = [];
	#pendingBytes = 0;

	private constructor(readonly handle: Awaited<ReturnType<typeof open>>) {}

	static async create(file: string): Promise<BundleFileWriter> {
		await mkdir(path.dirname(file), {recursive: true, mode: 0o700});
		const handle = await open(file, 'wx', 0o600);
		// The umask may have taken bits off.
		await handle.chmod(0o600);
		return new BundleFileWriter(handle);
	}

	get bytes(): number {
		return this.#bytes;
	}

	/** Buffers small writes into ~1 MiB ones. */
	async write(text: string | Buffer): Promise<void> {
		this.append(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
		await this.settle();
	}

	/** Past a few MiB in flight, waits for the disk: a slow disk must not fill the memory. */
	async settle(): Promise<void> {
		if (this.#queued >= 8 * MiB) await this.#writing;
	}

	/**
	 * Queues `buffer`; each MiB goes to the disk in the background (the hash in order), so a
	 * log is written while the next part of it is still arriving. Errors come out of flush().
	 */
	append(buffer: Buffer): void {
		this.#pending.push(buffer);
		this.#pendingBytes += buffer.length;
		if (this.#pendingBytes >= MiB) this.#startFlush();
	}

	#writing: Promise<void> = Promise.resolve();
	#queued = 0;

	#startFlush(): void {
		if (this.#pendingBytes === 0) return;
		// Written as they are (one writev), not copied into one buffer first.
		const buffers = this.#pending;
		const size = this.#pendingBytes;
		this.#pending = [];
		this.#pendingBytes = 0;
		for (const buffer of buffers) this.#hash.update(buffer);
		this.#queued += size;
		this.#writing = this.#writing.then(async () => {
			let left = buffers;
			for (let written = 0; written < size; ) {
				const {bytesWritten} = await this.handle.writev(left);
				written += bytesWritten;
				if (written < size) left = rest(left, bytesWritten);
			}
			this.#bytes += size;
			this.#queued -= size;
		});
		// Awaited in flush(); never unhandled meanwhile.
		this.#writing.catch(() => {});
	}

	async flush(): Promise<void> {
		this.#startFlush();
		await this.#writing;
	}

	async finish(): Promise<{bytes: number; sha256: string}> {
		await this.flush();
		await this.handle.sync();
		await this.handle.close();
		return {bytes: this.#bytes, sha256: this.#hash.digest('hex')};
	}

	async abandon(file: string): Promise<void> {
		await this.handle.close().catch(() => {});
		await unlink(file).catch(() => {});
	}
}

/**
 * The newest lines of a stream, at most `cap` bytes: an incident is at the end of a log,
 * so when a log is longer than the cap its oldest lines are the ones dropped.
 */
class NewestLines {
	#lines: string[] = [];
	#sizes: number[] = [];
	#first = 0;
	#bytes = 0;
	droppedLines = 0;
	droppedBytes = 0;

	constructor(
		readonly cap: number,
		readonly encoding: 'utf8' | 'latin1' = 'utf8',
	) {}

	push(line: string): void {
		const size = Buffer.byteLength(line, this.encoding);
		this.#lines.push(line);
		this.#sizes.push(size);
		this.#bytes += size;
		while (this.#bytes > this.cap && this.#first < this.#lines.length) {
			this.#bytes -= this.#sizes[this.#first]!;
			this.droppedBytes += this.#sizes[this.#first]!;
			this.droppedLines++;
			this.#first++;
		}
		// Compact now and then rather than shift() per line.
		if (this.#first > 65_536 && this.#first * 2 > this.#lines.length) {
			this.#lines = this.#lines.slice(this.#first);
			this.#sizes = this.#sizes.slice(this.#first);
			this.#first = 0;
		}
	}

	/** Bytes kept now. */
	get bytes(): number {
		return this.#bytes;
	}

	*kept(): Iterable<string> {
		for (let i = this.#first; i < this.#lines.length; i++) yield this.#lines[i]!;
	}
}


/** Redacts `content` (unless told not to) and writes it to `file`. */
export async function writeContent(file: string, content: Content, options: WriteOptions, signal: AbortSignal): Promise<Written> {
	const redactOptions = options.redactOptions;
	let redactions: RedactionCounts = {};
	const truncated = false;
	const note: string | null = null;
	const error: string | null = null;
	const chunks: string[] = [];

	if ('json' in content) {
		let value = content.json;
		if (options.redact) ({text: value, counts: redactions} = redactJson(value, redactOptions));
		chunks.push(`${JSON.stringify(value, null, 2)}\n`);
	} else if ('jsonLines' in content) {
		for (const entry of content.jsonLines) {
			let value = entry;
			if (options.redact) {
				const result = redactJson(value, redactOptions);
				value = result.text;
				addCounts(redactions, result.counts);
			}
			chunks.push(`${JSON.stringify(value)}\n`);
		}
	} else if ('text' in content) {
		let text = content.text;
		if (options.redact) ({text, counts: redactions} = redact(text, redactOptions));
		chunks.push(text);
	} else {
		return writeLines(file, content, options, signal);
	}
	signal.throwIfAborted();

	const writer = await BundleFileWriter.create(file);
	try {
		for (const chunk of chunks) await writer.write(chunk);
		const {bytes, sha256} = await writer.finish();
		return {bytes, sha256, truncated, note, redactions, error};
	} catch (writeError) {
		await writer.abandon(file);
		throw writeError;
	}
}

type LinesContent = Extract<Content, {lines: unknown}> | Extract<Content, {blocks: unknown}>;

/** Lines in `text`: its newlines. */
function countLines(text: string): number {
	let n = 0;
	for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) n++;
	return n;
}

/**
 * A log, written as it arrives (redacted a batch at a time, on the disk in the background)
 * while it is within the cap: no line is held in memory. Past the cap the newest lines are
 * kept in memory (at most the cap) and, at the end, the file is made again from the newest
 * lines it holds and those: the note first, then what fits, oldest dropped.
 */
async function writeLines(file: string, content: LinesContent, options: WriteOptions, signal: AbortSignal): Promise<Written> {
	const {redactOptions} = options;
	const encoding = content.encoding ?? 'utf8';
	const cap = content.capBytes;
	const redactor = options.redact ? new LineRedactor(redactOptions) : null;
	const jsonCounts: RedactionCounts = {};
	const redactLine = (line: string): string => {
		if (!redactor) return line;
		if ('jsonPerLine' in content && content.jsonPerLine && line.startsWith('{')) {
			try {
				const result = redactJson(JSON.parse(line) as unknown, redactOptions);
				addCounts(jsonCounts, result.counts);
				return JSON.stringify(result.text);
			} catch {
				// Not JSON after all (a torn line): redacted as text.
			}
		}
		return redactor.line(line);
	};
	const writer = await BundleFileWriter.create(file);
	let written = 0;
	let lines = 0;
	// Past the cap: the newest lines, in memory.
	let newest: NewestLines | null = null;
	let error: string | null = null;
	/** Redacted lines, each ending in a newline: to the file while within the cap, else the newest in memory. */
	const keep = (text: string) => {
		if (newest) {
			for (let start = 0, end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) newest.push(text.slice(start, end + 1));
			return;
		}
		const bytes = Buffer.from(text, encoding);
		if (written + bytes.length <= cap) {
			writer.append(bytes);
			written += bytes.length;
			lines += countLines(text);
			return;
		}
		// This batch crosses the cap: from here on, lines are kept in memory.
		newest = new NewestLines(cap, encoding);
		keep(text);
	};
	const take = (batch: readonly string[]) => {
		let text = '';
		for (const line of batch) text += `${redactLine(line)}\n`;
		keep(text);
	};
	const batches: AsyncIterable<string | string[]> = 'blocks' in content ? content.blocks : content.lines;
	try {
		try {
			for await (const batch of batches) {
				if (signal.aborted) break;
				if ('blocks' in content) keep(redactor ? redactor.block(batch as string) : (batch as string));
				else take(typeof batch === 'string' ? [batch] : batch);
				await writer.settle();
			}
		} catch (streamError) {
			if (signal.aborted) throw streamError;
			// What arrived before the stream broke is still evidence.
			error = errorText(streamError);
		}
		signal.throwIfAborted();
		const redactions = redactor ? addCounts({...redactor.counts}, jsonCounts) : {};
		// A source that read only the newest part of its log (json-file's files) says what it left.
		const unread = 'blocks' in content ? (content.unread?.() ?? 0) : 0;
		if (!newest && unread === 0) {
			const {bytes, sha256} = await writer.finish();
			return {bytes, sha256, truncated: false, note: null, redactions, error};
		}
		await writer.finish();
		// Made again with the note first: past the cap, or with what the source left unread.
		return {...(await rewriteNewest(file, {written, lines}, newest ?? new NewestLines(cap, encoding), unread)), redactions, error};
	} catch (failure) {
		await writer.abandon(file);
		throw failure;
	}
}

/** The file again, from the newest lines of what was written (`head`) and of what came after (`rest`), within the cap. */
async function rewriteNewest(file: string, head: {written: number; lines: number}, rest: NewestLines, unread = 0): Promise<Omit<Written, 'redactions' | 'error'>> {
	const full = `${file}.full-${process.pid}`;
	await rename(file, full);
	try {
		// Room left beside the newest lines: the head's lines from the first that starts at or after its cut.
		const room = rest.cap - rest.bytes;
		let from = head.written;
		let keptLines = 0;
		const source = await open(full, 'r');
		try {
			// Only while the newer lines all fit: a line of the head is older than any the rest dropped.
			if (room > 0 && head.written > 0 && rest.droppedLines === 0) {
				// From the byte before the cut: a line starts at 0 or right after a newline.
				const start = Math.max(0, head.written - room - 1);
				const buffer = Buffer.alloc(head.written - start);
				await source.read(buffer, 0, buffer.length, start);
				const cut = start === 0 && head.written <= room ? 0 : buffer.indexOf(0x0a) + 1;
				if (cut > 0 || (start === 0 && head.written <= room)) {
					from = start + cut;
					for (let i = buffer.indexOf(0x0a, cut); i !== -1; i = buffer.indexOf(0x0a, i + 1)) keptLines++;
				}
			}
			const droppedLines = head.lines - keptLines + rest.droppedLines;
			const droppedBytes = from + rest.droppedBytes;
			const left = [
				...(droppedLines > 0 ? [`the oldest ${droppedLines} lines (${droppedBytes} bytes) were dropped`] : []),
				...(unread > 0 ? [`${formatMiB(unread)} of older log before them was not read`] : []),
			];
			const note = `capped at ${formatMiB(rest.cap)}: ${left.join(' and ')}, the newest kept`;
			const writer = await BundleFileWriter.create(file);
			try {
				await writer.write(`── rollback-console: ${note} ──\n`);
				const chunk = Buffer.alloc(MiB);
				for (let at = from; at < head.written; ) {
					const {bytesRead} = await source.read(chunk, 0, Math.min(MiB, head.written - at), at);
					if (bytesRead === 0) break;
					await writer.write(Buffer.from(chunk.subarray(0, bytesRead)));
					at += bytesRead;
				}
				for (const line of rest.kept()) writer.append(Buffer.from(line, rest.encoding));
				const {bytes, sha256} = await writer.finish();
				return {bytes, sha256, truncated: true, note};
			} catch (failure) {
				await writer.abandon(file);
				throw failure;
			}
		} finally {
			await source.close();
		}
	} finally {
		await unlink(full).catch(() => {});
	}
}
