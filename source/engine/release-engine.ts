// What a rollback asks the Engine (its plan, and the worker's wait and checks), over plain HTTP
// like `status` (status-engine.ts): dockerode and what it loads (grpc, ssh2, protobufjs) cost
// ~250 ms of CPU in each of the rollback's two processes, all of it before or beside `up`.
// Anything else (logs) loads dockerode when first asked; TLS and ssh:// engines use it throughout.
import {containerActions, repositoryImage, toEvent, type ImageSummary} from './engine-records.js';
import {explainEngineError} from './known-errors.js';
import {http, query, type Target} from './engine-http.js';
import {HttpStatusEngine, plainOrDockerode} from './status-engine.js';
import type {Engine, EngineImages, EventHandlers, LogLine, RepositoryImage} from './types.js';

/** One /events connection, each event line to `onLine` as it comes; resolves when the Engine ends it. */
function streamEvents(target: Target, path: string, signal: AbortSignal, onOpen: () => void, onLine: (line: string) => void): Promise<void> {
	return new Promise((resolve, reject) => {
		const options = {...target, path, method: 'GET', headers: {host: 'docker'}, servername: 'docker', signal};
		const req = http().request(options, response => {
			if ((response.statusCode ?? 0) >= 300) {
				response.resume();
				return reject(new Error(`the Engine answered /events with HTTP ${response.statusCode}`));
			}
			onOpen();
			let rest = '';
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => {
				rest += chunk;
				let newline: number;
				while ((newline = rest.indexOf('\n')) !== -1) {
					const line = rest.slice(0, newline).trim();
					rest = rest.slice(newline + 1);
					if (line) onLine(line);
				}
			});
			response.on('error', reject);
			response.on('end', () => resolve());
		});
		req.on('error', reject);
		req.end();
	});
}

export class HttpReleaseEngine extends HttpStatusEngine implements Engine, EngineImages {
	#dockerode: Promise<Engine> | undefined;

	constructor(
		address: string,
		target: Target,
		readonly env: NodeJS.ProcessEnv = process.env,
	) {
		super(address, target);
	}

	async repositoryImages(repository: string): Promise<RepositoryImage[]> {
		// The reference filter with a bare name matches every tag of that repository.
		const list = await this.json<ImageSummary[]>(`/images/json?${query({filters: {reference: [repository]}})}`);
		return list.map(i => repositoryImage(i, repository));
	}

	async repositoriesWithDigest(digest: string): Promise<string[]> {
		const list = await this.json<ImageSummary[]>('/images/json?digests=1');
		const names = list.flatMap(i => (i.RepoDigests ?? []).filter(d => d.endsWith(`@${digest}`)).map(d => d.slice(0, d.indexOf('@'))));
		return [...new Set(names)].sort();
	}

	/** The project's container events; after a drop it reconnects (250 ms later) from the last one seen. */
	async watchEvents(project: string, handlers: EventHandlers, signal: AbortSignal): Promise<void> {
		const filters = {type: ['container'], label: [`com.docker.compose.project=${project}`], event: [...containerActions]};
		let since: string | null = null;
		const seen = new Set<string>();
		while (!signal.aborted) {
			try {
				await streamEvents(
					this.target,
					`/events?${query(since ? {filters, since} : {filters})}`,
					signal,
					() => handlers.onState('live'),
					line => {
						const raw = toEvent(line);
						if (!raw || seen.has(raw.key)) return;
						seen.add(raw.key);
						since = `${raw.timeNano / 1_000_000_000n}.${String(raw.timeNano % 1_000_000_000n).padStart(9, '0')}`;
						handlers.onEvent(raw.event);
					},
				);
			} catch (error) {
				if (signal.aborted) return;
				handlers.onState('reconnecting', explainEngineError(error, this.address));
			}
			if (signal.aborted) return;
			await new Promise(resolve => setTimeout(resolve, 250));
		}
	}

	async *followServiceLogs(project: string, service: string, options: {tail: number; timestamps: boolean}, signal: AbortSignal): AsyncIterable<LogLine[]> {
		yield* (await this.#full()).followServiceLogs(project, service, options, signal);
	}

	#full(): Promise<Engine> {
		this.#dockerode ??= import('./docker-engine.js').then(m => m.DockerEngine.connect(this.env));
		return this.#dockerode;
	}
}

/** The Engine for a rollback. */
export const connectReleaseEngine = (env: NodeJS.ProcessEnv = process.env): Promise<Engine & EngineImages> =>
	plainOrDockerode((address, target) => new HttpReleaseEngine(address, target, env), env);
