/** What running one Database action reports and takes (shared by the PostgreSQL/MySQL and the SQLite restore). */

export type DatabasePhase = 'checksum' | 'backup' | 'stop' | 'restore' | 'verify' | 'down';

export interface RunDatabaseOptions {
	/** Progress for the console and the headless command: which phase, bytes so far, of how many. */
	onProgress?: (phase: DatabasePhase, bytes: number, total: number | null) => void;
	/** roll-forward: who owns the hotfix. */
	owner?: string;
	/** restore/down: skip the fresh backup (only after a typed confirmation of that). */
	skipFreshBackup?: boolean;
	/** restore: the tables whose row counts are checked (default: all the backup counted). */
	tables?: string[];
	reason?: string;
}
