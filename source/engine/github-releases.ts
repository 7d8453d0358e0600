import {ConsoleError} from '../errors.js';
import {networkCodes} from './network-codes.js';

/**
 * A project's GitHub releases (REST API, read-only): tags, dates and the first line of the
 * notes, as rollback candidates beside the registry's tags. The API's base URL comes from
 * ROLLBACK_CONSOLE_GITHUB_API (GitHub Enterprise, or a test server on 127.0.0.1); a token
 * from GITHUB_TOKEN when set (public repositories need none).
 */

export interface GithubRelease {
	tag: string;
	name: string | null;
	publishedAt: string | null;
	/** The notes' first non-empty line. */
	note: string | null;
	url: string | null;
	prerelease: boolean;
}

export interface GithubReleases {
	releases(repository: string, signal?: AbortSignal): Promise<GithubRelease[]>;
}

/** GitHub could not be asked: it does not answer, refuses, or errs. */
export class GithubError extends ConsoleError {
	constructor(message: string) {
		super(message);
		this.name = 'GithubError';
	}
}

export const isGithubError = (error: unknown): error is GithubError => error instanceof GithubError;

export const DEFAULT_GITHUB_API = 'https://api.github.com';

interface ApiRelease {
	tag_name?: unknown;
	name?: unknown;
	published_at?: unknown;
	created_at?: unknown;
	body?: unknown;
	html_url?: unknown;
	draft?: unknown;
	prerelease?: unknown;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

/** The first non-empty line of release notes, without Markdown heading marks, at most 120 characters. */
export function firstLine(body: string | null): string | null {
	const line = body
		?.split(/\r?\n/)
		.map(l => l.replace(/^#+\s*/, '').trim())
		.find(l => l !== '');
	if (!line) return null;
	return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

export function parseReleases(body: unknown): GithubRelease[] {
	if (!Array.isArray(body)) throw new GithubError('GitHub answered the releases request with something other than a list');
	return (body as ApiRelease[])
		.filter(r => r && typeof r.tag_name === 'string' && r.draft !== true)
		.map(r => ({
			tag: r.tag_name as string,
			name: text(r.name),
			publishedAt: text(r.published_at) ?? text(r.created_at),
			note: firstLine(text(r.body)),
			url: text(r.html_url),
			prerelease: r.prerelease === true,
		}));
}

function why(error: unknown, timeoutMs: number): string {
	if ((error as Error | undefined)?.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
	for (let current = error, depth = 0; current && depth < 5; depth++) {
		const {code, cause} = current as {code?: unknown; cause?: unknown};
		if (typeof code === 'string') return networkCodes[code] ?? code;
		current = cause;
	}
	return error instanceof Error ? error.message : String(error);
}

export class GithubClient implements GithubReleases {
	readonly #baseUrl: string;
	readonly #token: string | null;
	readonly #timeoutMs: number;

	constructor({env = process.env, baseUrl, timeoutMs = 5000}: {env?: NodeJS.ProcessEnv; baseUrl?: string; timeoutMs?: number} = {}) {
		this.#baseUrl = (baseUrl ?? env['ROLLBACK_CONSOLE_GITHUB_API'] ?? DEFAULT_GITHUB_API).replace(/\/+$/, '');
		this.#token = env['GITHUB_TOKEN'] || null;
		this.#timeoutMs = timeoutMs;
	}

	async releases(repository: string, signal?: AbortSignal): Promise<GithubRelease[]> {
		if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) throw new GithubError(`GitHub repository "${repository}" is not owner/name`);
		const {default: ky} = await import('ky');
		const headers: Record<string, string> = {Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'rollback-console'};
		if (this.#token) headers['Authorization'] = `Bearer ${this.#token}`;
		const releases: GithubRelease[] = [];
		let next: string | null = `${this.#baseUrl}/repos/${repository}/releases?per_page=100`;
		// Three pages (300 releases) reach far enough back for a rollback.
		for (let page = 0; next && page < 3; page++) {
			let response: Response;
			try {
				response = await ky(next, {headers, timeout: this.#timeoutMs, retry: 0, throwHttpErrors: false, ...(signal ? {signal} : {})});
			} catch (error) {
				throw new GithubError(`GitHub (${new URL(this.#baseUrl).host}) does not answer (${why(error, this.#timeoutMs)})`);
			}
			if (response.status === 404) throw new GithubError(`GitHub has no repository ${repository} (or the token cannot see it: GITHUB_TOKEN)`);
			if (response.status === 401 || response.status === 403) {
				throw new GithubError(`GitHub refused to list the releases of ${repository} (HTTP ${response.status}${response.headers.get('x-ratelimit-remaining') === '0' ? ', rate limit reached' : ''}): set GITHUB_TOKEN`);
			}
			if (!response.ok) throw new GithubError(`GitHub could not list the releases of ${repository}: HTTP ${response.status}`);
			let body: unknown;
			try {
				body = await response.json();
			} catch {
				throw new GithubError(`GitHub answered the releases request of ${repository} with something other than JSON`);
			}
			releases.push(...parseReleases(body));
			next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
		}
		return releases;
	}
}
