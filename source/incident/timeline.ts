import {mkdir, open, stat} from 'node:fs/promises';
import {basename, join} from 'node:path';
import {ConsoleError} from '../errors.js';
import {appendText, createFileExclusive, errorCode, isDiskFull} from './atomic-file.js';
import type {Operator} from './operator.js';

/** The checklist's steps, in the order the operator walks them (DESIGN.md). */
export const STEP_IDS = ['scope', 'evidence', 'stabilise', 'database', 'disk', 'verify', 'follow-up'] as const;

export type StepId = (typeof STEP_IDS)[number];

export const STEP_TITLES: Readonly<Record<StepId, string>> = {
	scope: 'Scope',
	evidence: 'Capture evidence',
	stabilise: 'Stabilise',
	database: 'Database',
	disk: 'Free disk',
	verify: 'Verify',
	'follow-up': 'Follow up',
};

export const isStepId = (value: unknown): value is StepId => (STEP_IDS as readonly unknown[]).includes(value);

export interface TimelineEvent {
	time: string;
	seq: number;
	operator: {user: string; ssh: string | null; pid: number};
	step: StepId | null;
	/** incident_opened, incident_resumed, incident_closed, step_status, scope_answer, scope_decision, note, action_start, action_result, timeline_fallback, … */
	type: string;
	data: Record<string, unknown>;
}

export interface TimelineOptions {
	operator: Pick<Operator, 'user' | 'sshConnection' | 'pid'>;
	/**
	 * The directory that takes over `<basename of file>` when the disk holding the file is
	 * full. A string is also checked at open, so a timeline that fell back earlier is picked
	 * up again; a function is only called when the disk fills up.
	 */
	fallbackDir?: string | null | (() => Promise<string | null>);
	/** Where this timeline belongs, when it was opened in a fallback location from the start. */
	originalFile?: string;
	now?: () => number;
}

const fallbackReason = (error: unknown) =>
	errorCode(error) === 'EDQUOT' ? 'disk quota exceeded (EDQUOT)' : 'no space left on device (ENOSPC)';

async function exists(file: string): Promise<boolean> {
	try {
		await stat(file);
		return true;
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return false;
		throw error;
	}
}

/** Bytes [position, position+length) of a file. */
async function readRange(file: string, position: number, length: number): Promise<Buffer> {
	const handle = await open(file, 'r');
	try {
		const buffer = Buffer.alloc(length);
		let done = 0;
		while (done < length) {
			const {bytesRead} = await handle.read(buffer, done, length - done, position + done);
			if (bytesRead === 0) break;
			done += bytesRead;
		}
		return buffer.subarray(0, done);
	} finally {
		await handle.close();
	}
}

/**
 * The incident's append-only record: one JSON event per line, fsync'd before `append`
 * resolves. Appends from this process are serialised; before each one the file is re-read
 * from where we left off, so events other writers (the detached worker) added are seen
 * and `seq` carries on after them.
 */
export class Timeline {
	#file: string;
	readonly #originalFile: string;
	readonly #operator: TimelineEvent['operator'];
	readonly #fallbackDir: TimelineOptions['fallbackDir'];
	readonly #now: () => number;
	#events: TimelineEvent[] = [];
	/** Bytes of #file already parsed into #events. */
	#offset = 0;
	/** False after a crash tore the last line: the next append terminates it first. */
	#endsWithNewline = true;
	#seq = 0;
	#damaged = 0;
	#chain: Promise<unknown> = Promise.resolve();

	private constructor(file: string, options: TimelineOptions) {
		this.#file = file;
		this.#originalFile = options.originalFile ?? file;
		this.#operator = {user: options.operator.user, ssh: options.operator.sshConnection, pid: options.operator.pid};
		this.#fallbackDir = options.fallbackDir;
		this.#now = options.now ?? Date.now;
	}

	/** Loads the events already in `file` (missing is fine: the first append creates it). */
	static async open(file: string, options: TimelineOptions): Promise<Timeline> {
		let actual = file;
		if (typeof options.fallbackDir === 'string') {
			const earlier = join(options.fallbackDir, basename(file));
			// An earlier process fell back: the tmpfs copy holds everything, the original only a prefix.
			if (earlier !== file && (await exists(earlier))) actual = earlier;
		}
		const timeline = new Timeline(actual, {...options, originalFile: options.originalFile ?? file});
		await timeline.#readNew();
		return timeline;
	}

	/** Where events are written now. */
	get file(): string {
		return this.#file;
	}

	/** Where the timeline belongs: the state dir. */
	get originalFile(): string {
		return this.#originalFile;
	}

	/** The timeline lives in a tmpfs fallback (lost on reboot) because the state dir's disk was full. */
	get fellBack(): boolean {
		return this.#file !== this.#originalFile;
	}

	/** Lines that did not parse (torn by a crash) and were skipped. */
	get damagedLines(): number {
		return this.#damaged;
	}

	events(): TimelineEvent[] {
		return [...this.#events];
	}

	append(step: StepId | null, type: string, data: Record<string, unknown> = {}): Promise<TimelineEvent> {
		return this.#serialised(() => this.#append(step, type, data));
	}

	/** Picks up events other writers appended since the last read. */
	refresh(): Promise<TimelineEvent[]> {
		return this.#serialised(async () => {
			await this.#readNew();
			return this.events();
		});
	}

	/** Resolves when every append asked for so far has finished (or failed). */
	async settled(): Promise<void> {
		await this.#chain;
	}

	#serialised<T>(task: () => Promise<T>): Promise<T> {
		const run = this.#chain.then(task);
		// One failed append must not stop the ones queued behind it.
		this.#chain = run.catch(() => {});
		return run;
	}

	#build(step: StepId | null, type: string, data: Record<string, unknown>): TimelineEvent {
		return {time: new Date(this.#now()).toISOString(), seq: this.#seq + 1, operator: this.#operator, step, type, data};
	}

	async #append(step: StepId | null, type: string, data: Record<string, unknown>): Promise<TimelineEvent> {
		await this.#readNew();
		const event = this.#build(step, type, data);
		try {
			await this.#write(event);
			return event;
		} catch (error) {
			if (!isDiskFull(error)) throw error;
			await this.#fallBack(error);
		}
		const retried = this.#build(step, type, data);
		await this.#write(retried);
		return retried;
	}

	async #write(event: TimelineEvent): Promise<void> {
		const line = JSON.stringify(event);
		await appendText(this.#file, `${this.#endsWithNewline ? '' : '\n'}${line}\n`);
		// Re-read rather than count bytes: another process may have appended just before us.
		await this.#readNew();
	}

	/**
	 * The disk is full. The original is left exactly as it is; what we had read of it is
	 * copied to the fallback dir, which takes every append from now on.
	 */
	async #fallBack(cause: unknown): Promise<void> {
		const code = errorCode(cause) ?? 'ENOSPC';
		const dir = typeof this.#fallbackDir === 'function' ? await this.#fallbackDir() : this.#fallbackDir;
		const target = dir ? join(dir, basename(this.#file)) : null;
		if (!dir || !target || this.fellBack || target === this.#file) {
			const where = this.fellBack ? `the fallback ${this.#file} is full too` : 'there is no writable fallback directory';
			throw new ConsoleError(
				`cannot record to the incident timeline: the disk holding ${this.#file} is full (${code}) and ${where}: free space or set ROLLBACK_CONSOLE_FALLBACK_DIR`,
			);
		}
		const from = this.#file;
		try {
			await mkdir(dir, {recursive: true, mode: 0o700});
			// Only the bytes parsed so far: a short write may have left a torn line after them.
			const known = await readRange(from, 0, this.#offset);
			const created = await createFileExclusive(target, known);
			this.#switchTo(target);
			await this.#readNew();
			if (created) await this.#write(this.#build(null, 'timeline_fallback', {from, to: target, reason: fallbackReason(cause)}));
		} catch (error) {
			if (error instanceof ConsoleError) throw error;
			throw new ConsoleError(
				`cannot record to the incident timeline: the disk holding ${from} is full (${code}) and falling back to ${target} failed (${errorCode(error) ?? String(error)})`,
			);
		}
	}

	#switchTo(file: string): void {
		this.#file = file;
		this.#events = [];
		this.#offset = 0;
		this.#endsWithNewline = true;
		this.#seq = 0;
		this.#damaged = 0;
	}

	/** Parses whatever was appended to the file since the last read. */
	async #readNew(): Promise<void> {
		let size: number;
		try {
			size = (await stat(this.#file)).size;
		} catch (error) {
			if (errorCode(error) === 'ENOENT') return;
			throw error;
		}
		// Never happens with our writers (nothing truncates); if the file was replaced, start over.
		if (size < this.#offset) this.#switchTo(this.#file);
		if (size === this.#offset) return;
		const chunk = await readRange(this.#file, this.#offset, size - this.#offset);
		const lastNewline = chunk.lastIndexOf(0x0a);
		const complete = chunk.subarray(0, lastNewline + 1);
		const tail = chunk.subarray(lastNewline + 1);
		for (const line of complete.toString('utf8').split('\n')) {
			if (line.trim() !== '') this.#accept(line);
		}
		this.#offset += complete.length;
		this.#endsWithNewline = tail.length === 0;
		// A last line without its newline: a whole event whose newline got lost is kept; a
		// torn one is read again (and skipped again) until an append terminates it.
		if (tail.length > 0 && this.#accept(tail.toString('utf8'), false)) this.#offset += tail.length;
	}

	#accept(line: string, countDamage = true): boolean {
		let value: unknown;
		try {
			value = JSON.parse(line);
		} catch {
			if (countDamage) this.#damaged++;
			return false;
		}
		const event = value as Partial<TimelineEvent> | null;
		if (!event || typeof event !== 'object' || typeof event.seq !== 'number' || typeof event.type !== 'string') {
			if (countDamage) this.#damaged++;
			return false;
		}
		this.#events.push(event as TimelineEvent);
		this.#seq = Math.max(this.#seq, event.seq);
		return true;
	}
}
