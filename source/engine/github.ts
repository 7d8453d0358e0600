// The few GitHub REST API calls the follow-up needs: create an issue, read a commit's
// combined status and check runs. The base URL is configurable (GitHub Enterprise:
// https://HOST/api/v3). The token goes in a header only; it is never in a result or a message.
import {safeUrl, sendJson, type PostOptions} from './notify-http.js';

export interface GitHubTarget {
	/** https://api.github.com, or https://HOST/api/v3. */
	apiUrl: string;
	/** owner/name */
	repo: string;
	token: string | null;
	timeoutMs?: number;
	retries?: number;
	maxRetryAfterMs?: number;
}

const headers = (token: string | null): Record<string, string> => ({
	accept: 'application/vnd.github+json',
	'x-github-api-version': '2022-11-28',
	'user-agent': 'rollback-console',
	...(token ? {authorization: `Bearer ${token}`} : {}),
});

const options = (target: GitHubTarget, signal?: AbortSignal): PostOptions => ({
	headers: headers(target.token),
	...(target.timeoutMs === undefined ? {} : {timeoutMs: target.timeoutMs}),
	...(target.retries === undefined ? {} : {retries: target.retries}),
	...(target.maxRetryAfterMs === undefined ? {} : {maxRetryAfterMs: target.maxRetryAfterMs}),
	...(signal ? {signal} : {}),
});

const api = (target: GitHubTarget, path: string) => `${target.apiUrl.replace(/\/+$/, '')}/repos/${target.repo}${path}`;

function explain(status: number | null, error: string | null, what: string): string {
	if (status === 401) return `${what}: GitHub refused the token (401): check the token in the configured environment variable`;
	if (status === 403) return `${what}: forbidden (403): the token lacks permission, or the rate limit is spent`;
	if (status === 404) return `${what}: not found (404): check the repository name, and that the token can see it`;
	return `${what}: ${error ?? 'failed'}`;
}

export interface IssueResult {
	ok: boolean;
	url: string | null;
	number: number | null;
	attempts: number;
	ms: number;
	error: string | null;
}

/** POST /repos/{owner}/{repo}/issues */
export async function createIssue(target: GitHubTarget, issue: {title: string; body: string; labels?: string[]}, signal?: AbortSignal): Promise<IssueResult> {
	if (!target.token) return {ok: false, url: null, number: null, attempts: 0, ms: 0, error: 'no GitHub token: set the environment variable notify.github.token_env names'};
	const result = await sendJson('post', api(target, '/issues'), issue, options(target, signal));
	const body = (result.body ?? {}) as {html_url?: unknown; number?: unknown};
	if (!result.ok) return {ok: false, url: null, number: null, attempts: result.attempts, ms: result.ms, error: explain(result.status, result.error, `creating an issue in ${target.repo}`)};
	return {
		ok: true,
		url: typeof body.html_url === 'string' ? body.html_url : null,
		number: typeof body.number === 'number' ? body.number : null,
		attempts: result.attempts,
		ms: result.ms,
		error: null,
	};
}

export interface CommitChecks {
	/** False when the API says there is no such commit (404, 422). */
	found: boolean;
	combined: {state: string; statuses: Array<{context: string; state: string}>} | null;
	checkRuns: Array<{name: string; status: string; conclusion: string | null}>;
	/** Why it could not be read; null when it was. */
	error: string | null;
	url: string;
}

/** GET …/commits/{sha}/status and …/commits/{sha}/check-runs, side by side. */
export async function commitChecks(target: GitHubTarget, sha: string, signal?: AbortSignal): Promise<CommitChecks> {
	const url = `${api(target, `/commits/${encodeURIComponent(sha)}`)}`;
	const [status, checks] = await Promise.all([
		sendJson('get', `${url}/status`, null, options(target, signal)),
		sendJson('get', `${url}/check-runs?per_page=100`, null, options(target, signal)),
	]);
	const missing = [status, checks].some(r => r.status === 404 || r.status === 422);
	if (missing) return {found: false, combined: null, checkRuns: [], error: null, url: safeUrl(url)};
	if (!status.ok || !checks.ok) {
		const bad = !status.ok ? status : checks;
		return {found: true, combined: null, checkRuns: [], error: explain(bad.status, bad.error, `reading the CI status of ${sha.slice(0, 12)}`), url: safeUrl(url)};
	}
	const combined = status.body as {state?: unknown; statuses?: Array<{context?: unknown; state?: unknown}>};
	const runs = (checks.body as {check_runs?: Array<{name?: unknown; status?: unknown; conclusion?: unknown}>})?.check_runs ?? [];
	return {
		found: true,
		combined: {
			state: String(combined?.state ?? ''),
			statuses: (combined?.statuses ?? []).map(s => ({context: String(s.context ?? ''), state: String(s.state ?? '')})),
		},
		checkRuns: runs.map(r => ({name: String(r.name ?? ''), status: String(r.status ?? ''), conclusion: typeof r.conclusion === 'string' ? r.conclusion : null})),
		error: null,
		url: safeUrl(url),
	};
}
