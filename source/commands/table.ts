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
];

export const flagNames: Record<CommandFlag, string> = {
	json: '--json',
	to: '--to',
	yes: '--yes',
	out: '--out',
	redact: '--no-redact',
	ciLog: '--ci-log',
};
