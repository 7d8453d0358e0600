// The Disk step's vocabulary: what the plan proposes (actions), what it keeps (and why),
// what it reports, and the facts it is built from.
import type {DiskContainer, DiskUsage, FsUsage, ImageLayers, VolumeMountEvent} from '../../engine/types.js';
import type {Retention} from './retention.js';
import type {ReleaseRecord} from '../stabilise/releases.js';
import type {BackupEntry} from '../database/backups.js';

export type DiskActionKind = 'remove-container' | 'remove-image' | 'prune-build-cache' | 'remove-volume' | 'truncate-log' | 'remove-backup';

export interface DiskAction {
	/** Stable within a report: `container:<id>`, `image:<id>`, `build-cache`, `volume:<name>`, `log:<container id>`. */
	id: string;
	kind: DiskActionKind;
	/** The ID or name the Engine call uses. */
	target: string;
	/** What the operator recognises: a container name, an image reference, a volume name. */
	name: string;
	/** The estimate of bytes it frees. */
	bytes: number;
	/** Part of `disk prune --yes` without per-item flags. */
	safe: boolean;
	/** What to type to confirm, for destructive optional items (the first 12 characters of the name). */
	typed: string | null;
	/** Exactly what it does: the Engine call or the file operation. */
	does: string;
	/** Why it may go. */
	detail: string;
	/** The log file, for truncate-log. */
	path?: string;
}

export type ProtectedCategory =
	| 'in-use'
	| 'release'
	| 'other-project'
	| 'compose-container'
	| 'named-volume'
	| 'compose-volume'
	| 'digest-of-other-repository'
	| 'parent-image';

export interface ProtectedItem {
	kind: 'image' | 'container' | 'volume';
	target: string;
	name: string;
	bytes: number;
	category: ProtectedCategory;
	reason: string;
}

export type FsLabel = 'root' | 'docker' | 'state';

export interface FsReport extends FsUsage {
	label: FsLabel;
	over: boolean;
	/** The label of an earlier entry on the same filesystem. */
	sameAs: FsLabel | null;
}

export interface DfSummary {
	total: number;
	active: number;
	size: number;
	reclaimable: number;
}

export interface LogFile {
	containerId: string;
	container: string;
	project: string | null;
	service: string | null;
	state: string;
	path: string;
	size: number;
	allocated: number;
}

export interface DiskReport {
	project: string;
	checkedAt: string;
	engine: {address: string; version: string; apiVersion: string; dockerRootDir: string; local: boolean};
	thresholdPercent: number;
	retainReleases: number;
	/** Some watched filesystem is at or above the threshold. */
	over: boolean;
	filesystems: FsReport[];
	/** Docker's own breakdown (GET /system/df), with what Docker considers reclaimable. */
	docker: {images: DfSummary; containers: DfSummary; volumes: DfSummary; buildCache: DfSummary};
	/** The largest json-file container logs. */
	logs: LogFile[];
	releases: {
		repositories: string[];
		current: string | null;
		lastKnownGood: string | null;
		kept: Array<{tag: string; reason: string}>;
	} | null;
	plan: {
		actions: DiskAction[];
		protected: ProtectedItem[];
		/** Bytes the safe actions free together, and the optional ones. */
		estimate: {safe: number; optional: number};
	};
	/** Things the operator should know: no release records, a remote engine, … */
	notes: string[];
}

export interface DiskFacts {
	project: string;
	checkedAt: string;
	engine: DiskReport['engine'];
	thresholdPercent: number;
	retainReleases: number;
	filesystems: Array<FsUsage & {label: FsLabel}>;
	df: DiskUsage;
	containers: DiskContainer[];
	/** Image ID → its layers and history (null: unknown; the estimate falls back to system df's unique size). */
	layers: ReadonlyMap<string, ImageLayers | null>;
	/** Container ID → its log file's size, for json-file logs that could be read. */
	logSizes: ReadonlyMap<string, {size: number; allocated: number}>;
	volumeMounts: VolumeMountEvent[];
	/** Volume name → its top-level entries, for unused anonymous volumes. */
	volumePeeks: ReadonlyMap<string, {names: string[]; total: number} | null>;
	/** Null when the project's release services could not be worked out (see releaseProblem). */
	retention: Retention | null;
	records: readonly ReleaseRecord[];
	releaseProblem: string | null;
	/** Other compose projects running images of our release repositories, with their own records. */
	others: Array<{retention: Retention; records: readonly ReleaseRecord[]}>;
	/** Release repository → other compose projects using it that have no records on this box. */
	sharedUnrecorded: ReadonlyMap<string, string[]>;
	/** The database backups backups.log lists (step 4), and how long they are kept; null when there are none. */
	backups?: {dir: string; retainDays: number; entries: ReadonlyArray<BackupEntry & {present: boolean}>} | null;
}

/** Logs at least this big are "runaway": the plan offers to truncate them (after saving the tail). */
export const RUNAWAY_LOG_BYTES = 10 * 1024 * 1024;
/** What is saved of a log before truncating it. */
export const LOG_TAIL = {maxLines: 10_000, maxBytes: 10 * 1024 * 1024};
/** json-file lines gzip to about a tenth; used only to estimate what saving the tail costs. */

/** What one per-kind planner proposes and keeps. */
export interface Planned {
	actions: DiskAction[];
	kept: ProtectedItem[];
}

/** "a, b, c and 2 more". */
export function listed(list: readonly string[], max = 3): string {
	return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}
