import type {CommandFlag, GlobalOptions} from './global-options.js';

export interface CommandModule {
	/** Runs the command; returns the exit code. `args` are the words after the command name. */
	run(options: GlobalOptions, args: string[]): Promise<number>;
}

export interface CommandSpec {
	name: string;
	usage: string;
	summary: string;
	flags: CommandFlag[];
	/** Loaded only when run: headless commands never load Ink or React. */
	load(): Promise<CommandModule>;
}

/** The headless commands that exist in this version (DESIGN.md lists where they are going). */
export const COMMANDS: readonly CommandSpec[] = [
	{
		name: 'status',
		usage: 'status [--json]',
		summary: 'exit 0 when every service runs (and is healthy where it has a healthcheck), 1 otherwise',
		flags: ['json'],
		load: () => import('./status.js'),
	},
	{
		name: 'capture',
		usage: 'capture [--out FILE|DIR] [--ci-log FILE|URL] [--no-redact] [--json]',
		summary: 'the evidence bundle (.tar.gz, 0600, with a .sha256): logs, inspect, events, versions, disk; changes nothing',
		flags: ['json', 'out', 'redact', 'ciLog'],
		load: () => import('./capture.js'),
	},
	{
		name: 'export',
		usage: 'export [INCIDENT] [--out FILE|DIR] [--no-redact] [--json]',
		summary: 'the whole incident (timeline, evidence, reports) as one .tar.gz with a .sha256',
		flags: ['json', 'out', 'redact'],
		load: () => import('./export.js'),
	},
	{
		name: 'rollback',
		usage: 'rollback [--to TAG|sha256:DIGEST] [--yes] [--verify] [--json]',
		summary: 'roll the release services back (default: the last known good), durably, in a detached worker; --verify runs verify right after',
		flags: ['json', 'to', 'yes', 'verify'],
		load: () => import('./rollback.js'),
	},
	{
		name: 'deploy',
		usage: 'deploy --to TAG|sha256:DIGEST [--yes] [--no-backup] [--accept-destructive] [--json]',
		summary: 'the same machinery forward: deploy a release and record it (verified when healthy)',
		flags: ['json', 'to', 'yes', 'backup', 'acceptDestructive'],
		load: () => import('./deploy.js'),
	},
	{
		name: 'verify',
		usage: 'verify [--window DURATION] [--no-wait] [--json]',
		summary: 'step 6: services up and not crash-looping, health URLs (retried), smoke checks and flows, error rate vs baseline over the window; exit 0 verified (recorded in releases.jsonl), 1 not',
		flags: ['json', 'window', 'wait'],
		load: () => import('./verify.js'),
	},
	{
		name: 'history',
		usage: 'history [--json]',
		summary: 'releases seen and verified on this box, the registry\'s tags and local images; the last known good marked',
		flags: ['json'],
		load: () => import('./history.js'),
	},
	{
		name: 'disk',
		usage: 'disk [prune [--yes] [--volume NAME]... [log:CONTAINER]...] [--json]',
		summary: 'disk usage and the prune plan (changes nothing; exit 1 over the threshold); `prune` runs the plan\'s safe actions, keeping rollback images and every named volume',
		// `--yes` and `--volume` only with `prune`: the command refuses them otherwise.
		flags: ['json', 'yes', 'volume'],
		load: () => import('./disk.js'),
	},
	{
		name: 'report',
		usage: 'report [INCIDENT] [--out DIR] [--json]',
		summary: 'the incident record and postmortem draft (report.md) from the timeline and the evidence; the open incident, else the newest',
		flags: ['json', 'out'],
		load: () => import('./report.js'),
	},
	{
		name: 'close',
		usage: 'close [--yes] [--json]',
		summary: 'end the incident: report.md, the incident bundle (with its sha256), the follow-up issue and notifications; refused while a rollback worker runs',
		flags: ['json', 'yes'],
		load: () => import('./close.js'),
	},
	{
		name: 'db',
		usage: 'db [backup | restore [BACKUP] [--tables T,…] | down] [--yes] [--json]',
		summary: 'migrations against the rollback target (exit 1 when past the boundary); `backup` streams a dump out (sha256, backups.log); `restore` and `down` (exactly one step) after a fresh backup',
		flags: ['json', 'to', 'yes', 'tables', 'backup'],
		load: () => import('./db.js'),
	},
];

export const flagNames: Record<CommandFlag, string> = {
	json: '--json',
	to: '--to',
	yes: '--yes',
	out: '--out',
	redact: '--no-redact',
	ciLog: '--ci-log',
	volume: '--volume',
	tables: '--tables',
	backup: '--no-backup',
	acceptDestructive: '--accept-destructive',
	window: '--window',
	wait: '--no-wait',
	verify: '--verify',
};
