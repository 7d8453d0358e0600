import {spawn} from 'node:child_process';
import {accessSync, constants} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ConsoleError} from '../errors.js';
import {streamCommand} from './command-stream.js';
import {cachedConfig} from './compose-config-cache.js';
import {composeProjectArgs} from './compose-project.js';
import type {Compose, ComposeCommands, ComposeConfig, ComposeProject, ComposeRun, ComposeService, ComposeStreamOptions} from './types.js';

export interface ComposeResult {
	stdout: string;
	stderr: string;
	exitCode: number;
}

// Where the docker CLI looks for plugins. Running the Compose v2 plugin binary directly
// skips the docker CLI's own start-up (about 70 ms per call here), and it is the same program.
function pluginDirs(env: NodeJS.ProcessEnv): string[] {
	const config = env['DOCKER_CONFIG'] ?? path.join(os.homedir(), '.docker');
	return [
		path.join(config, 'cli-plugins'),
		'/usr/local/lib/docker/cli-plugins',
		'/usr/local/libexec/docker/cli-plugins',
		'/usr/lib/docker/cli-plugins',
		'/usr/libexec/docker/cli-plugins',
	];
}

/** The command that runs Compose v2: the plugin binary when found, else `docker compose`. */
export function composeCommand(env: NodeJS.ProcessEnv = process.env): string[] {
	for (const dir of pluginDirs(env)) {
		const binary = path.join(dir, 'docker-compose');
		try {
			accessSync(binary, constants.X_OK);
			return [binary];
		} catch {
			// Not in this directory.
		}
	}
	return ['docker', 'compose'];
}

const composeMissing =
	'docker compose v2 is not installed: install the Compose plugin (Debian: docker-compose 2.x; Docker\'s repository: docker-compose-plugin)';

/** Turns compose's own failure output into one line, keeping compose's words. */
export function explainComposeFailure(result: ComposeResult, what: string): ConsoleError {
	const text = `${result.stderr}\n${result.stdout}`;
	// Without the plugin, the docker CLI rejects `compose` or, first, compose's own flags.
	if (/is not a docker command|unknown command: docker compose|docker: 'compose'|unknown flag: --project-directory/i.test(text)) {
		return new ConsoleError(composeMissing);
	}
	if (/no configuration file provided/i.test(text)) {
		return new ConsoleError('not a Compose project: compose found no compose.yaml (cd into the project, or pass --project-dir DIR or -f FILE)');
	}
	const firstLine =
		text
			.split('\n')
			.map(line => line.trim())
			.find(line => line.length > 0) ?? `exit code ${result.exitCode}`;
	return new ConsoleError(`${what}: ${firstLine}`);
}

/** "the Compose file /srv/shop/compose.yaml does not parse": compose's YAML errors often name no file. */
function doesNotParse(project: ComposeProject): string {
	const files = project.files.length > 0 ? project.files : [`${project.workingDir}/compose.yaml`];
	return `the Compose file${files.length > 1 ? 's' : ''} ${files.join(', ')} ${files.length > 1 ? 'do' : 'does'} not parse`;
}

function toService(raw: Record<string, any>): ComposeService {
	const environment: Record<string, string | null> = {};
	for (const [key, value] of Object.entries(raw['environment'] ?? {})) {
		environment[key] = value === null || value === undefined ? null : String(value);
	}
	return {
		image: typeof raw['image'] === 'string' ? raw['image'] : null,
		build: raw['build'] !== undefined,
		healthcheck: Boolean(raw['healthcheck']) && raw['healthcheck']?.disable !== true,
		healthcheckTest: Array.isArray(raw['healthcheck']?.test) ? (raw['healthcheck'].test as unknown[]).map(String) : null,
		networkMode: raw['network_mode'] ?? null,
		// What `up --wait` waits for depends on it (a service waited on to complete is not expected to run).
		...(raw['depends_on']
			? {
					dependsOn: Object.fromEntries(
						Object.entries(raw['depends_on'] as Record<string, {condition?: unknown}>).map(([name, on]) => [name, String(on?.condition ?? 'service_started')]),
					),
				}
			: {}),
		environment,
		volumes: (raw['volumes'] ?? []).map((v: Record<string, any>) => ({
			type: String(v['type'] ?? 'volume'),
			source: v['source'] ?? null,
			target: String(v['target'] ?? ''),
		})),
	};
}

/** Parses `docker compose config --format json`. */
export function parseComposeConfig(json: string): ComposeConfig {
	const raw = JSON.parse(json) as Record<string, any>;
	const services: Record<string, ComposeService> = {};
	for (const [name, service] of Object.entries(raw['services'] ?? {})) {
		services[name] = toService(service as Record<string, any>);
	}
	return {
		name: String(raw['name'] ?? ''),
		services,
		volumes: raw['volumes'] ?? {},
		extension: raw['x-rollback-console'] ?? null,
	};
}

/** Compose v2 through its CLI, as the operator would run it. */
export class ComposeCli implements Compose, ComposeCommands {
	readonly #command: string[];

	constructor(readonly env: NodeJS.ProcessEnv = process.env) {
		this.#command = composeCommand(env);
	}

	async run(args: string[], options: {cwd?: string; signal?: AbortSignal; env?: NodeJS.ProcessEnv} = {}): Promise<ComposeResult> {
		// Spawned directly (no shell, no zx): loading zx cost `status` about 40 ms, a third of `compose ps`.
		const [bin, ...pre] = this.#command;
		return new Promise((resolve, reject) => {
			const child = spawn(bin!, [...pre, ...args], {
				cwd: options.cwd,
				env: {...this.env, ...options.env},
				stdio: ['ignore', 'pipe', 'pipe'],
				...(options.signal ? {signal: options.signal} : {}),
			});
			const stdout: Buffer[] = [];
			const stderr: Buffer[] = [];
			child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
			child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
			child.once('error', error => {
				if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
					reject(new ConsoleError('the docker CLI is not on PATH: install Docker (Debian: docker.io) and docker compose v2'));
				} else reject(error);
			});
			child.once('close', (code, signal) => {
				resolve({
					stdout: Buffer.concat(stdout).toString('utf8'),
					stderr: Buffer.concat(stderr).toString('utf8'),
					exitCode: code ?? (signal ? 128 : 1),
				});
			});
		});
	}

	async version(signal?: AbortSignal): Promise<string> {
		const result = await this.run(['version', '--short'], signal ? {signal} : {});
		if (result.exitCode !== 0) throw explainComposeFailure(result, 'docker compose version failed');
		const version = result.stdout.trim().replace(/^v/, '');
		if (!/^2\./.test(version)) throw new ConsoleError(`${composeMissing} (found compose ${version})`);
		return version;
	}

	async config(project: ComposeProject, signal?: AbortSignal): Promise<ComposeConfig> {
		const result = await cachedConfig(this.#command, project, this.env, () =>
			this.run([...composeProjectArgs(project), 'config', '--format', 'json'], {cwd: project.workingDir, ...(signal ? {signal} : {})}),
		);
		if (result.exitCode !== 0) throw explainComposeFailure(result, doesNotParse(project));
		return parseComposeConfig(result.stdout);
	}

	argv(project: ComposeProject, args: string[]): string[] {
		return [...this.#command, ...composeProjectArgs(project), ...args];
	}

	async configWith(project: ComposeProject, env: Record<string, string>, signal?: AbortSignal): Promise<ComposeConfig> {
		// Spawned directly, not through zx's shell: this call is on a rollback's critical path.
		const result = await this.stream(project, ['config', '--format', 'json'], {env, ...(signal ? {signal} : {})});
		if (result.exitCode !== 0) throw explainComposeFailure(result, doesNotParse(project));
		return parseComposeConfig(result.stdout);
	}

	async rawImages(project: ComposeProject, signal?: AbortSignal): Promise<Record<string, string | null>> {
		const result = await this.run([...composeProjectArgs(project), 'config', '--no-interpolate', '--format', 'json'], {
			cwd: project.workingDir,
			...(signal ? {signal} : {}),
		});
		if (result.exitCode !== 0) throw explainComposeFailure(result, doesNotParse(project));
		const raw = JSON.parse(result.stdout) as {services?: Record<string, {image?: unknown}>};
		return Object.fromEntries(
			Object.entries(raw.services ?? {}).map(([name, service]) => [name, typeof service.image === 'string' ? service.image : null]),
		);
	}

	/** `x-rollback-console` as written (`config --no-interpolate`): where a value came from a variable. */
	async rawExtension(project: ComposeProject, signal?: AbortSignal): Promise<unknown> {
		const result = await this.run([...composeProjectArgs(project), 'config', '--no-interpolate', '--format', 'json'], {
			cwd: project.workingDir,
			...(signal ? {signal} : {}),
		});
		if (result.exitCode !== 0) throw explainComposeFailure(result, doesNotParse(project));
		return (JSON.parse(result.stdout) as Record<string, unknown>)['x-rollback-console'] ?? null;
	}

	stream(project: ComposeProject, args: string[], options: ComposeStreamOptions = {}): Promise<ComposeRun> {
		return streamCommand(this.argv(project, args), {
			cwd: project.workingDir,
			env: {...this.env, ...options.env},
			...(options.signal ? {signal: options.signal} : {}),
			...(options.onOutput ? {onOutput: options.onOutput} : {}),
		});
	}

	async logTail(project: ComposeProject, service: string, lines: number, env: Record<string, string> = {}): Promise<string[]> {
		const result = await this.run([...composeProjectArgs(project), 'logs', '--no-color', '--no-log-prefix', '--tail', String(lines), service], {
			cwd: project.workingDir,
			env,
		});
		// compose clears each line with an escape sequence even with --no-color.
		const text = `${result.stdout}${result.stderr}`.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '');
		return text.split('\n').filter(line => line.trim() !== '').slice(-lines);
	}
}
