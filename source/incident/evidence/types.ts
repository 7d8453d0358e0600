import type {RedactionCounts} from '../redaction.js';

export type ItemGroup = 'compose' | 'container' | 'image' | 'engine' | 'host' | 'health' | 'incident' | 'ci';

/** One thing a capture collects, as the plan shows it before anything runs. */
export interface PlannedItem {
	id: string;
	group: ItemGroup;
	/** What it is, in the operator's words. */
	what: string;
	/** How it is collected: the API call or the command line, with its arguments. */
	how: string;
	/** Where it goes, relative to the capture directory. */
	file: string;
	/** Expected bytes, for the size estimate (0 when unknown). */
	estimate: number;
}

/**
 * What a collector hands back; the runner redacts and writes it, so no collector can
 * forget to redact.
 */
export type Content =
	| {json: unknown}
	| {jsonLines: unknown[]}
	| {text: string}
	/**
	 * Lines streamed as they are read (one at a time or in batches), the newest `capBytes` kept. `jsonPerLine`: each line
	 * that parses as JSON (a timeline) is redacted as JSON, so names are judged as names.
	 */
	| {lines: AsyncIterable<string | string[]>; capBytes: number; jsonPerLine?: boolean; /** latin1: the lines are bytes, written back exactly. */ encoding?: 'utf8' | 'latin1'}
	/** The same, as blocks of whole lines, each line ending in a newline (a container's log: a block per chunk the Engine sent). */
	| {
			blocks: AsyncIterable<string>;
			capBytes: number;
			encoding?: 'utf8' | 'latin1';
			/** How it was collected, when not as planned (a fallback). */
			how?: string;
			/** Bytes of the source left unread before what it gave (only the newest part was read), asked once it ended. */
			unread?: () => number;
	  };

export interface EvidenceItem extends PlannedItem {
	collect(signal: AbortSignal): Promise<Content>;
}

export interface EvidencePlan {
	project: string;
	items: EvidenceItem[];
	/** Bytes the capture is expected to write (files, before the archive). */
	estimateBytes: number;
	/** Some sizes could not be known (a log driver without a file, an unreadable log). */
	estimateIncomplete: boolean;
	logCapBytes: number;
	containers: number;
	images: number;
	healthUrls: number;
	ciLog: string | null;
	/** Redaction patterns from x-rollback-console.redact.patterns. */
	extraPatterns: string[];
}

/** A plan as the console shows it: the items without their collectors. */
export type EvidencePlanView = Omit<EvidencePlan, 'items'> & {items: PlannedItem[]};

export interface ManifestItem {
	id: string;
	what: string;
	how: string;
	file: string;
	bytes: number;
	/** Of the file as written; null when nothing was written. */
	sha256: string | null;
	startedAt: string;
	endedAt: string;
	ok: boolean;
	error: string | null;
	truncated: boolean;
	/** What was left out and why, when something was (the log cap). */
	note: string | null;
	redactions: RedactionCounts;
}

export const MANIFEST_FORMAT = 'rollback-console-evidence/1';

export interface Manifest {
	format: typeof MANIFEST_FORMAT;
	/** False until every item has been written: an interrupted capture never claims to be whole. */
	complete: boolean;
	captureId: string;
	project: string;
	incident: string;
	host: string;
	operator: {user: string; ssh: string | null; sudoUser: string | null};
	startedAt: string;
	endedAt: string | null;
	redaction: {enabled: boolean; rules: readonly string[]; extraPatterns: number; counts: RedactionCounts};
	logCapBytes: number;
	location: {dir: string; fellBack: boolean; reason: string | null; intendedDir: string};
	items: ManifestItem[];
	summary: {items: number; ok: number; failed: number; truncated: number; bytes: number};
}

export type ProgressState = 'running' | 'done' | 'failed';

export interface CaptureProgress {
	item: PlannedItem;
	state: ProgressState;
	/** Bytes written for this item (done, failed). */
	bytes: number;
	error?: string;
	/** Items finished (done or failed) so far, of `total`. */
	finished: number;
	total: number;
}

export interface BundleFile {
	file: string;
	sha256: string;
	bytes: number;
	sidecar: string;
}

export interface CaptureResult {
	captureId: string;
	dir: string;
	manifest: Manifest;
	bundle: BundleFile;
	/** Where it was meant to go and why it did not, when the state dir's disk was full. */
	fellBack: {from: string; to: string; reason: string} | null;
}
