import {createHash} from 'node:crypto';
import {mkdir, open, unlink} from 'node:fs/promises';
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
		const buffer = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
		this.#pending.push(buffer);
		this.#pendingBytes += buffer.length;
		if (this.#pendingBytes >= MiB) await this.flush();
	}

	async flush(): Promise<void> {
		if (this.#pendingBytes === 0) return;
		const buffer = Buffer.concat(this.#pending, this.#pendingBytes);
		this.#pending = [];
		this.#pendingBytes = 0;
		this.#hash.update(buffer);
		let offset = 0;
		while (offset < buffer.length) {
			const {bytesWritten} = await this.handle.write(buffer, offset, buffer.length - offset);
			offset += bytesWritten;
		}
		this.#bytes += buffer.length;
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

	*kept(): Iterable<string> {
		for (let i = this.#first; i < this.#lines.length; i++) yield this.#lines[i]!;
	}
}


/** Redacts `content` (unless told not to) and writes it to `file`. */
export async function writeContent(file: string, content: Content, options: WriteOptions, signal: AbortSignal): Promise<Written> {
	const redactOptions = options.redactOptions;
	let redactions: RedactionCounts = {};
	let truncated = false;
	let note: string | null = null;
	let error: string | null = null;
	const chunks: string[] = [];

	let newest: NewestLines | null = null;
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
		newest = new NewestLines(content.capBytes, content.encoding ?? 'utf8');
		const redactor = options.redact ? new LineRedactor(redactOptions) : null;
		const jsonCounts: RedactionCounts = {};
		const redactLine = (line: string): string => {
			if (!redactor) return line;
			if (content.jsonPerLine && line.startsWith('{')) {
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
		try {
			for await (const batch of content.lines) {
				if (signal.aborted) break;
				if (typeof batch === 'string') newest.push(`${redactLine(batch)}\n`);
				else for (const line of batch) newest.push(`${redactLine(line)}\n`);
			}
		} catch (streamError) {
			if (signal.aborted) throw streamError;
			// What arrived before the stream broke is still evidence.
			error = errorText(streamError);
		}
		if (redactor) redactions = addCounts({...redactor.counts}, jsonCounts);
		if (newest.droppedLines > 0) {
			truncated = true;
			note = `capped at ${formatMiB(content.capBytes)}: the oldest ${newest.droppedLines} lines (${newest.droppedBytes} bytes) were dropped, the newest kept`;
		}
	}
	signal.throwIfAborted();

	const writer = await BundleFileWriter.create(file);
	try {
		if (newest) {
			if (note) await writer.write(`── rollback-console: ${note} ──\n`);
			for (const line of newest.kept()) await writer.write(Buffer.from(line, newest.encoding));
		} else {
			for (const chunk of chunks) await writer.write(chunk);
		}
		const {bytes, sha256} = await writer.finish();
		return {bytes, sha256, truncated, note, redactions, error};
	} catch (writeError) {
		await writer.abandon(file);
		throw writeError;
	}
}
