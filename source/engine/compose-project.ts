import {existsSync, readFileSync, statSync} from 'node:fs';
import path from 'node:path';
import {parseEnv} from 'node:util';
import {ConsoleError} from '../errors.js';
import type {ComposeProject} from './types.js';

/** What the operator said on the command line about where the project is. */
export interface ProjectOptions {
	projectDir?: string | undefined;
	files?: string[] | undefined;
	projectName?: string | undefined;
}

// The names and order docker compose looks for, and the override file it adds beside each.
const composeFileNames = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const overrideFor: Record<string, string[]> = {
	'compose.yaml': ['compose.override.yaml', 'compose.override.yml'],
	'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
	'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'],
	'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
};

const projectNamePattern = /^[a-z0-9][a-z0-9_-]*$/;

/** Reads a .env the way compose does (KEY=VALUE, quotes, comments); a missing file is empty. */
export function readDotEnv(file: string): Record<string, string> {
	if (!existsSync(file)) return {};
	try {
		return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
	} catch (error) {
		throw new ConsoleError(`cannot read ${file}: ${(error as Error).message}`);
	}
}

function isFile(file: string): boolean {
	try {
		return statSync(file).isFile();
	} catch {
		return false;
	}
}

function findInDir(dir: string): string[] | null {
	for (const name of composeFileNames) {
		const file = path.join(dir, name);
		if (!isFile(file)) continue;
		const override = overrideFor[name]!.map(o => path.join(dir, o)).find(o => isFile(o));
		return override ? [file, override] : [file];
	}
	return null;
}

/**
 * Finds the Compose project the way `docker compose` does: -f files, else COMPOSE_FILE
 * (environment, then the project's .env), else compose.yaml and friends in the project
 * directory or, without --project-dir, in the current directory and its parents.
 */
export function locateProject(
	options: ProjectOptions,
	env: NodeJS.ProcessEnv = process.env,
	cwd: string = process.cwd(),
): ComposeProject {
	const projectDir = options.projectDir ? path.resolve(cwd, options.projectDir) : undefined;
	if (projectDir && !existsSync(projectDir)) {
		throw new ConsoleError(`--project-dir ${options.projectDir}: no such directory`);
	}
	if (projectDir && !statSync(projectDir).isDirectory()) {
		throw new ConsoleError(`--project-dir ${options.projectDir}: not a directory`);
	}

	const baseDir = projectDir ?? cwd;
	const dotEnv = readDotEnv(path.join(baseDir, '.env'));
	const setting = (key: string) => env[key] || dotEnv[key] || undefined;

	let files: string[];
	if (options.files && options.files.length > 0) {
		files = options.files.map(f => path.resolve(cwd, f));
	} else if (setting('COMPOSE_FILE')) {
		const separator = setting('COMPOSE_PATH_SEPARATOR') ?? ':';
		files = setting('COMPOSE_FILE')!
			.split(separator)
			.filter(Boolean)
			.map(f => path.resolve(baseDir, f));
	} else {
		let dir = baseDir;
		let found = findInDir(dir);
		while (!found && !projectDir) {
			const parent = path.dirname(dir);
			if (parent === dir) break;
			dir = parent;
			found = findInDir(dir);
		}
		if (!found) {
			throw new ConsoleError(
				`not a Compose project: no ${composeFileNames.join(', ')} in ${baseDir}${projectDir ? '' : ' or its parents'} (cd into the project, or pass --project-dir DIR or -f FILE)`,
			);
		}
		files = found;
	}

	for (const file of files) {
		if (!isFile(file)) throw new ConsoleError(`Compose file not found: ${file}`);
	}

	const name = options.projectName ?? setting('COMPOSE_PROJECT_NAME') ?? null;
	if (name !== null && !projectNamePattern.test(name)) {
		throw new ConsoleError(
			`invalid project name "${name}": use lowercase letters, digits, dashes and underscores, starting with a letter or digit`,
		);
	}

	return {workingDir: projectDir ?? path.dirname(files[0]!), files, name};
}

/** The arguments that point compose at exactly this project, before the subcommand. */
export function composeProjectArgs(project: ComposeProject): string[] {
	const args = ['--project-directory', project.workingDir];
	for (const file of project.files) args.push('-f', file);
	if (project.name) args.push('-p', project.name);
	return args;
}
