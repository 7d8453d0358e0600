import {constants} from 'node:fs';
import {access, mkdir, stat} from 'node:fs/promises';
import {homedir} from 'node:os';
import {isAbsolute, join, resolve} from 'node:path';
import {ConsoleError} from '../errors.js';
import {errorCode} from './atomic-file.js';

export const systemStateDir = '/var/lib/rollback-console';

export type StateDirSource = 'flag' | 'system' | 'user';

export interface StateDir {
	dir: string;
	source: StateDirSource;
}

/** Creates `dir` (0700) if missing; resolves to why it is unusable, or null when it is a writable directory. */
async function unusable(dir: string): Promise<string | null> {
	try {
		const info = await stat(dir);
		if (!info.isDirectory()) return 'is not a directory';
	} catch (error) {
		if (errorCode(error) !== 'ENOENT') return `cannot be read (${errorCode(error) ?? String(error)})`;
		try {
			await mkdir(dir, {recursive: true, mode: 0o700});
		} catch (mkdirError) {
			const code = errorCode(mkdirError);
			return code === 'ENOTDIR' ? 'cannot be created: a parent is not a directory' : `cannot be created (${code ?? String(mkdirError)})`;
		}
	}
	try {
		await access(dir, constants.W_OK | constants.X_OK);
	} catch (error) {
		return `is not writable (${errorCode(error) ?? String(error)})`;
	}
	return null;
}

/** `$XDG_STATE_HOME/rollback-console`, or `~/.local/state/rollback-console`. */
export function userStateDir(env: NodeJS.ProcessEnv = process.env): string {
	const xdg = env['XDG_STATE_HOME'];
	// The XDG spec says relative values are invalid and must be ignored.
	if (xdg && isAbsolute(xdg)) return join(xdg, 'rollback-console');
	return join(env['HOME'] || homedir(), '.local', 'state', 'rollback-console');
}

/**
 * Where incidents live: `--state-dir` when given; else the box-wide `/var/lib/rollback-console`,
 * shared by every operator, when it can be used; else the user's XDG state dir.
 */
export async function resolveStateDir({
	flag,
	env = process.env,
	systemDir = systemStateDir,
}: {flag?: string | null; env?: NodeJS.ProcessEnv; systemDir?: string} = {}): Promise<StateDir> {
	if (flag !== undefined && flag !== null && flag !== '') {
		const dir = resolve(flag);
		const problem = await unusable(dir);
		if (problem) throw new ConsoleError(`--state-dir ${dir} ${problem}`);
		return {dir, source: 'flag'};
	}
	if (!(await unusable(systemDir))) return {dir: systemDir, source: 'system'};
	const dir = userStateDir(env);
	const problem = await unusable(dir);
	if (problem) {
		throw new ConsoleError(`no usable state dir: ${systemDir} is not writable and ${dir} ${problem} (pass --state-dir DIR)`);
	}
	return {dir, source: 'user'};
}

const projectNamePattern = /^[a-z0-9][a-z0-9_-]*$/;

/** `<state>/<project>`. Project names are Compose's, so they are safe as one path segment. */
export function projectStateDir(stateDir: string, projectName: string): string {
	if (!projectNamePattern.test(projectName)) {
		throw new ConsoleError(
			`"${projectName}" is not a Compose project name (lowercase letters, digits, "_" and "-", starting with a letter or digit)`,
		);
	}
	return join(stateDir, projectName);
}

/** Where state goes when the state dir's disk is full, most preferred first. */
export function fallbackCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
	const candidates: string[] = [];
	const explicit = env['ROLLBACK_CONSOLE_FALLBACK_DIR'];
	if (explicit) candidates.push(resolve(explicit));
	candidates.push('/run/rollback-console');
	// The user's own tmpfs (/run/user/<uid>) when /run itself is root's only.
	const runtime = env['XDG_RUNTIME_DIR'];
	if (runtime && isAbsolute(runtime)) candidates.push(join(runtime, 'rollback-console'));
	candidates.push('/dev/shm/rollback-console');
	return candidates;
}

/**
 * The first writable tmpfs location (created 0700 if missing) for when the state dir's
 * disk is full, or null when there is none. What lands here is lost on reboot.
 */
export async function tmpfsFallbackDir(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
	for (const dir of fallbackCandidates(env)) {
		if (!(await unusable(dir))) return dir;
	}
	return null;
}
