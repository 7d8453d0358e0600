import type {Settings} from '../incident/settings.js';
import type {BuiltReport} from '../incident/follow-up/build-report.js';
import type {CloseAction, CloseResult} from '../incident/follow-up/close.js';
import type {Recorder} from '../incident/step-kit.js';
import type {StabiliseModel} from './stabilise-model.js';
import type {VerifyModel} from './steps/verify/verify-model.js';
import type {LogStore} from '../incident/log-store.js';
import type {ServicesSnapshot} from '../incident/services-feed.js';
import type {StepId, TimelineEvent} from '../incident/timeline.js';
import type {HealthProbe} from '../incident/health.js';
import type {DiskAction, DiskReport} from '../incident/disk/plan.js';
import type {DatabaseFacts} from '../incident/database/gather.js';
import type {DatabaseAction} from '../incident/database/plan.js';
import type {RunDatabaseOptions} from '../incident/database/run.js';
import type {Outcome, Plan} from '../incident/step-kit.js';
import type {DiskActionResult, DiskPruneResult} from '../incident/disk/run.js';
import type {CaptureProgress, CaptureResult, EvidencePlanView} from '../incident/evidence/types.js';

/**
 * Everything the console shows and can ask for, as domain objects: the UI never talks to
 * the engine itself. commands/console.ts builds it from the real engine; tests build it
 * from an in-memory one.
 */
export interface ConsoleModel {
	project: {name: string; workingDir: string};
	host: string;
	engine: {version: string; address: string};
	incident: {id: string; dir: string; openedAt: string; resumed: boolean};
	readOnly: boolean;
	/** How the session ended (a key, a signal, an error), set by what ended it; recorded in the timeline on the way out. */
	sessionEnd?: {by: string; error?: string};
	/** Why the console is read-only, when it is not the operator's choice. */
	readOnlyReason: string | null;
	settings: Settings;
	services: {snapshot(): ServicesSnapshot; subscribe(listener: (snapshot: ServicesSnapshot) => void): () => void};
	logs: LogStore;
	timeline: {
		append(step: StepId | null, type: string, data: Record<string, unknown>): Promise<TimelineEvent>;
		events(): TimelineEvent[];
		/** Reads what other writers (the rollback worker, a headless command) appended since. */
		refresh?(): Promise<TimelineEvent[]>;
		readonly file: string;
		readonly fellBack: boolean;
	};
	/** Probes every configured health URL once. */
	probeHealth(signal?: AbortSignal): Promise<HealthProbe[]>;
	/** Writes text under the incident directory (mode 0600); returns the path. */
	saveFile(name: string, text: string): Promise<string>;
	/** What an evidence capture would collect now, and about how big it is (reads only). */
	planEvidence(signal?: AbortSignal): Promise<EvidencePlanView>;
	/**
	 * Captures the evidence bundle (redacted). It changes nothing on the box, so read-only
	 * mode allows it. Timeline events go through `record`, so the console sees them at once.
	 */
	captureEvidence(
		options: {record: (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<unknown>; onNotice?: (text: string) => void},
		onProgress: (progress: CaptureProgress) => void,
		signal?: AbortSignal,
	): Promise<CaptureResult>;
	/** The Stabilise step: plan, run and follow a rollback (absent in UI tests that do not need it). */
	stabilise?: StabiliseModel;
	/** The Disk step (absent where there is no engine to free space on). */
	disk?: DiskModel;
	/** Step 6: the run is kept here, so it goes on while the operator is elsewhere (absent without an engine). */
	verify?: VerifyModel;
	/** Step 7, Follow up: the report, reminders, notify, the follow-up issue, the close (absent in UI tests that do not need it). */
	followUp?: FollowUpModel;
	/** The Database step (absent where no engine is wired, as in most UI tests). */
	database?: DatabaseModel;
}

/** The Disk step's reads and actions; `run` records each action and the totals through `record`. */
export interface DiskModel {
	gather(signal?: AbortSignal): Promise<DiskReport>;
	run(
		actions: DiskAction[],
		record: (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<unknown>,
		onResult?: (result: DiskActionResult, index: number) => void,
	): Promise<DiskPruneResult>;
}

/** The Database step: what gathering found and the plan; `run` runs one confirmed action under the project lock, recorded. */
export interface DatabaseModel {
	gather(signal?: AbortSignal): Promise<{facts: DatabaseFacts; plan: Plan<DatabaseAction>}>;
	run(
		action: DatabaseAction,
		record: (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<unknown>,
		options?: RunDatabaseOptions & {signal?: AbortSignal},
	): Promise<Outcome & {ms: number}>;
}

/** Step 7's reads and actions; each records through `record`, as `report` and `close` do. */
export interface FollowUpModel {
	notifyConfigured: boolean;
	issueConfigured: boolean;
	/** The report as it stands now (from the timeline and the evidence). */
	report(signal?: AbortSignal): Promise<BuiltReport>;
	/** What closing will do. */
	plan(): CloseAction[];
	/** Steps before Follow up that are not done or skipped. */
	unfinished(events: readonly TimelineEvent[]): string[];
	/** Why closing is refused now (a rollback worker runs); null when it may go ahead. */
	refusal(): Promise<string | null>;
	notify(message: string, record: Recorder): Promise<{ok: boolean; line: string}>;
	createIssue(markdown: string, record: Recorder): Promise<{ok: boolean; line: string; url: string | null}>;
	close(record: Recorder, onLine: (text: string) => void): Promise<CloseResult>;
}
