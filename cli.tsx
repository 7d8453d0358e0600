#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=30
// The flags, for the console under a log flood (bench/console.ts): a young generation of at most
// 8 MB and an old one grown by 30% (not up to 4×) after each full collection hold its peak at
// ~140 MB instead of ~230 MB. V8 reads them only at start, hence here; Bun's single file has its own GC.
import {readFileSync} from 'node:fs';
import module from 'node:module';
import type {CommandFlag, GlobalOptions} from './source/commands/global-options.js';
import {COMMANDS, flagNames} from './source/commands/table.js';
import {ConsoleError, exitCodes, isConsoleError} from './source/errors.js';

// Headless commands should start about as fast as `docker compose ps`: cache compiled code,
// before the first library is loaded (static imports would be evaluated before this line).
module.enableCompileCache?.();
const {helpText, parseCommandLine} = await import('./source/command-line.js');

// The bundle (scripts/bundle.mjs: dist/ and the single file) has the package's version and the
// commit put in at build time (esbuild define); run from source (tsx), the commit is not known.
// The single file is Bun, its own runtime.
declare const ROLLBACK_CONSOLE_PACKAGE: {version: string; description: string} | undefined;
declare const ROLLBACK_CONSOLE_COMMIT: string | undefined;
const pkg: Record<string, unknown> =
	typeof ROLLBACK_CONSOLE_PACKAGE === 'object' ? ROLLBACK_CONSOLE_PACKAGE : (JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as Record<string, unknown>);
const singleFile = process.versions['bun'] !== undefined;
const runtime = singleFile ? `bun ${process.versions['bun']}` : `node ${process.version}`;
const commit = typeof ROLLBACK_CONSOLE_COMMIT === 'string' ? ROLLBACK_CONSOLE_COMMIT : 'unknown';
const version = `rollback-console ${String(pkg['version'])} (commit ${commit}, ${runtime}${singleFile ? `, single file ${process.platform}-${process.arch}` : ''})`;

const commandList = COMMANDS.map(c => `    $ rollback-console ${c.usage.padEnd(32)} ${c.summary}`).join('\n');

const flagSpecs = {
	projectDir: {type: 'string'},
	file: {type: 'string', shortFlag: 'f', isMultiple: true},
	projectName: {type: 'string', shortFlag: 'p'},
	stateDir: {type: 'string'},
	readOnly: {type: 'boolean', default: false},
	color: {type: 'boolean', default: true},
	json: {type: 'boolean'},
	to: {type: 'string'},
	yes: {type: 'boolean'},
	out: {type: 'string'},
	redact: {type: 'boolean', default: true},
	ciLog: {type: 'string'},
	volume: {type: 'string', isMultiple: true},
	tables: {type: 'string'},
	backup: {type: 'boolean', default: true},
	acceptDestructive: {type: 'boolean'},
	window: {type: 'string'},
	wait: {type: 'boolean', default: true},
	verify: {type: 'boolean'},
} as const;

// An unknown flag is one line with the program's prefix.
const kebab = (name: string) => name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);
const known = new Set(['help', 'version', ...Object.keys(flagSpecs).flatMap(name => [kebab(name), `no-${kebab(name)}`])]);
const shorts = new Set<string>(Object.values(flagSpecs).flatMap(spec => ('shortFlag' in spec ? [spec.shortFlag] : [])));
for (const arg of process.argv.slice(2)) {
	if (arg === '--') break;
	const long = /^--([^=]+)/.exec(arg)?.[1];
	const short = /^-([^-])/.exec(arg)?.[1];
	if ((long !== undefined && !known.has(long)) || (long === undefined && short !== undefined && !/\d/.test(short) && !shorts.has(short))) {
		process.stderr.write(`rollback-console: unknown option ${arg.split('=')[0]} (see --help)\n`);
		process.exit(exitCodes.usage);
	}
}

const usage = `
  Usage
    $ rollback-console [options]                       the interactive incident console (needs a TTY)
${commandList}

  Options
    --project-dir DIR        the Compose project's directory (default: found from the current one)
    -f, --file FILE          a Compose file (repeatable; default: COMPOSE_FILE, then compose.yaml…)
    -p, --project-name NAME  the Compose project name (default: COMPOSE_PROJECT_NAME, then compose's)
    --state-dir DIR          where incidents are kept (default: /var/lib/rollback-console if writable)
    --read-only              show everything, change nothing
    --json                   machine-readable output (headless commands)
    --no-color               no colours (NO_COLOR is honoured too)
    --version                the version, the commit and the runtime it runs on

  Exit codes
    0 ok · 1 checked and found wanting · 2 usage or environment error · 3 failed midway
`;

// Named after the program, not `node`, in ps and top (as meow did; tests find it so too).
process.title = 'rollback-console';
let parsed: ReturnType<typeof parseCommandLine<typeof flagSpecs>>;
try {
	parsed = parseCommandLine(process.argv.slice(2), flagSpecs);
} catch (error) {
	process.stderr.write(`rollback-console: ${(error as Error).message}\n`);
	process.exit(exitCodes.usage);
}
if (parsed.kind === 'help') {
	process.stdout.write(`${helpText(typeof pkg['description'] === 'string' ? pkg['description'] : undefined, usage)}\n`);
	process.exit(exitCodes.ok);
}
if (parsed.kind === 'version') {
	process.stdout.write(`${version}\n`);
	process.exit(exitCodes.ok);
}
const cli = parsed;

function options(allowed: readonly CommandFlag[], command: string): GlobalOptions {
	const {flags} = cli;
	// Booleans have a value whether or not they were typed: false, or true for redact.
	const given = (flag: CommandFlag) =>
		flag === 'redact' || flag === 'backup' || flag === 'wait' ? flags[flag] === false : flag === 'json' || flag === 'yes' || flag === 'acceptDestructive' || flag === 'verify' ? flags[flag] === true : flag === 'volume' ? (flags.volume?.length ?? 0) > 0 : flags[flag] !== undefined;
	for (const flag of Object.keys(flagNames) as CommandFlag[]) {
		if (given(flag) && !allowed.includes(flag)) {
			throw new ConsoleError(`${command}: ${flagNames[flag]} is not an option of this command (see --help)`);
		}
	}
	for (const [name, value] of [
		['--project-dir', flags.projectDir],
		['--project-name', flags.projectName],
		['--state-dir', flags.stateDir],
		['--to', flags.to],
		['--out', flags.out],
		['--ci-log', flags.ciLog],
		['--tables', flags.tables],
		['--window', flags.window],
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
		json: flags.json ?? false,
		to: flags.to,
		yes: flags.yes ?? false,
		out: flags.out,
		redact: flags.redact,
		ciLog: flags.ciLog,
		volumes: flags.volume,
		tables: flags.tables,
		backup: flags.backup,
		acceptDestructive: flags.acceptDestructive ?? false,
		window: flags.window,
		wait: flags.wait,
		verify: flags.verify ?? false,
	};
}

async function run(): Promise<number> {
	const [command, ...args] = cli.input;
	if (command === undefined) {
		if (!process.stdin.isTTY || !process.stdout.isTTY) {
			throw new ConsoleError(
				`the console needs a terminal (stdin and stdout a TTY); without one use a headless command: ${COMMANDS.map(c => c.name).join(', ')} (see --help)`,
			);
		}
		const opts = options([], 'the console');
		const {run: runConsole} = await import('./source/console/open-console.js');
		// Exit even if a follower's socket lingers: the terminal has been restored by now.
		process.exit(await runConsole(opts));
	}
	const spec = COMMANDS.find(c => c.name === command);
	if (!spec) throw new ConsoleError(`unknown command "${command}" (commands: ${COMMANDS.map(c => c.name).join(', ')}; see --help)`);
	const opts = options(spec.flags, command);
	const {run: runCommand} = await spec.load();
	return runCommand(opts, args);
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
