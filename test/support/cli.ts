// Runs the built CLI (dist/cli.js) the way an operator would, and returns what it said.
import {execFile} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'cli.js');

export interface CliResult {
	stdout: string;
	stderr: string;
	exitCode: number;
}

export interface CliOptions {
	cwd?: string;
	env?: NodeJS.ProcessEnv;
	/** Run through another program first, e.g. ['setpriv', '--reuid=nobody', …]. */
	wrapper?: string[];
	timeoutMs?: number;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
	const [command, ...pre] = [...(options.wrapper ?? []), process.execPath, CLI, ...args];
	return new Promise(resolve => {
		execFile(
			command!,
			pre,
			{
				cwd: options.cwd ?? ROOT,
				env: {...process.env, NO_COLOR: '1', ...options.env},
				timeout: options.timeoutMs ?? 60_000,
				maxBuffer: 32 * 1024 * 1024,
			},
			(error, stdout, stderr) => {
				const code = (error as {code?: unknown} | null)?.code;
				resolve({stdout, stderr, exitCode: error ? (typeof code === 'number' ? code : 1) : 0});
			},
		);
	});
}

/** The one line an error must be: exactly one non-empty line on stderr. */
export function oneLine(stderr: string): string {
	const lines = stderr.split('\n').filter(line => line.trim() !== '');
	if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${stderr}`);
	return lines[0]!;
}
