#!/usr/bin/env node
import {readFileSync} from 'node:fs';
import module from 'node:module';
import type {GlobalOptions} from './source/commands/global-options.js';
import {ConsoleError, exitCodes, isConsoleError, type ExitCode} from './source/errors.js';

// Headless commands should start about as fast as `docker compose ps`: cache compiled code,
// before the first library is loaded (static imports would be evaluated before this line).
module.enableCompileCache?.();
const {default: meow} = await import('meow');

const headless = ['status'] as const;
type Headless = (typeof headless)[number];

const cli = meow(
	`
  Usage
    $ rollback-console [options]              the interactive incident console (needs a TTY)
    $ rollback-console status [--json]        exit 0 when every service runs and is healthy, 1 otherwise

  Options
    --project-dir DIR        the Compose project's directory (default: found from the current one)
    -f, --file FILE          a Compose file (repeatable; default: COMPOSE_FILE, then compose.yaml…)
    -p, --project-name NAME  the Compose project name (default: COMPOSE_PROJECT_NAME, then compose's)
    --state-dir DIR          where incidents are kept (default: /var/lib/rollback-console if writable)
    --read-only              show everything, change nothing
    --json                   machine-readable output (headless commands)
    --no-color               no colours (NO_COLOR is honoured too)

  Exit codes
    0 ok · 1 checked and found wanting · 2 usage or environment error · 3 failed midway
`,
	{
		importMeta: import.meta,
		// Given, so meow does not search for and normalise package.json on every start.
		pkg: JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, unknown>,
		allowUnknownFlags: false,
		flags: {
			projectDir: {type: 'string'},
			file: {type: 'string', shortFlag: 'f', isMultiple: true},
			projectName: {type: 'string', shortFlag: 'p'},
			stateDir: {type: 'string'},
			readOnly: {type: 'boolean', default: false},
			json: {type: 'boolean', default: false},
			color: {type: 'boolean', default: true},
		},
	},
);

function options(): GlobalOptions {
	const {flags} = cli;
	for (const [name, value] of [
		['--project-dir', flags.projectDir],
		['--project-name', flags.projectName],
		['--state-dir', flags.stateDir],
	] as const) {
		if (value !== undefined && value.trim() === '') throw new ConsoleError(`${name} needs a value`);
	}
	return {
		projectDir: flags.projectDir,
		files: flags.file,
		projectName: flags.projectName,
		stateDir: flags.stateDir,
		readOnly: flags.readOnly,
		color: flags.color,
		json: flags.json,
	};
}

async function run(): Promise<ExitCode> {
	const [command, ...rest] = cli.input;
	if (command === undefined) {
		if (!process.stdin.isTTY || !process.stdout.isTTY) {
			throw new ConsoleError(
				`the console needs a terminal (stdin and stdout a TTY); without one use a headless command: ${headless.join(', ')} (see --help)`,
			);
		}
		const {consoleCommand} = await import('./source/commands/console.js');
		// Exit even if a follower's socket lingers: the terminal has been restored by now.
		const code = await consoleCommand(options());
		process.exit(code);
	}
	if (!headless.includes(command as Headless)) {
		throw new ConsoleError(`unknown command "${command}" (commands: ${headless.join(', ')}; see --help)`);
	}
	if (rest.length > 0) throw new ConsoleError(`${command}: unexpected argument "${rest[0]}"`);
	const {statusCommand} = await import('./source/commands/status.js');
	return statusCommand(options());
}

try {
	process.exitCode = await run();
} catch (error) {
	if (isConsoleError(error)) {
		process.stderr.write(`rollback-console: ${error.message}\n`);
		process.exitCode = error.exitCode;
	} else {
		process.stderr.write(`rollback-console: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
		process.exitCode = exitCodes.failedMidway;
	}
}
