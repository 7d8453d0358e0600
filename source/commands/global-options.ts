import type {ProjectOptions} from '../engine/compose-project.js';

/** The parsed command line: global flags, and the few that belong to one command. */
export interface GlobalOptions extends ProjectOptions {
	stateDir?: string | undefined;
	readOnly: boolean;
	color: boolean;
	json: boolean;
	/** rollback/deploy: a tag or sha256 digest. */
	to?: string | undefined;
	/** rollback/deploy/disk prune: confirm without asking (required without a TTY). */
	yes: boolean;
	/** capture/export/report: where to write. */
	out?: string | undefined;
	/** capture/export: redact secrets (default); --no-redact turns it off, on the record. */
	redact: boolean;
	/** capture: a CI log file path or URL to include. */
	ciLog?: string | undefined;
	/** disk prune: anonymous volumes to remove, each named on purpose (--volume NAME, repeatable). */
	volumes?: string[] | undefined;
	/** db restore: the tables whose row counts are verified (comma-separated; default all). */
	tables?: string | undefined;
	/** deploy/db restore/db down: take a fresh backup first (default); --no-backup skips it, on the record. */
	backup?: boolean;
	/** deploy: go ahead with a release whose migrations are destructive (--yes alone is not enough). */
	acceptDestructive?: boolean;
	/** verify: the error-rate window (`5m`, `90s`); default the Compose file's verify.window. */
	window?: string | undefined;
	/** verify: wait for the window to end (default); --no-wait judges what there is now. */
	wait?: boolean;
	/** rollback: run verify right after a successful rollback. */
	verify?: boolean;
}

/** Flags that only some commands take; any other command refuses them. */
export type CommandFlag = 'json' | 'to' | 'yes' | 'out' | 'redact' | 'ciLog' | 'volume' | 'tables' | 'backup' | 'acceptDestructive' | 'window' | 'wait' | 'verify';
