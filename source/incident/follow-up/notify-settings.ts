// `x-rollback-console.notify`: where incidents are announced. Values may use ${VAR}
// (expanded from the environment when sending); the GitHub token is only ever named
// (token_env), never written in the Compose file.
import {ConsoleError} from '../../errors.js';

export interface NotifySettings {
	/** Slack-compatible JSON webhook; the body carries every field too. */
	webhook: {url: string; timeoutMs: number} | null;
	github: {repo: string; tokenEnv: string; apiUrl: string; webUrl: string; issue: boolean; timeoutMs: number} | null;
}

type Raw = Record<string, unknown>;

const fail = (key: string, problem: string) => new ConsoleError(`x-rollback-console.notify${key ? `.${key.replace(/^\./, '')}` : ''}: ${problem} (in the Compose file)`);

function mapping(value: unknown, key: string): Raw {
	if (value === undefined || value === null) return {};
	if (typeof value !== 'object' || Array.isArray(value)) throw fail(key, 'expected a mapping');
	return value as Raw;
}

function only(value: Raw, key: string, allowed: string[]) {
	for (const k of Object.keys(value)) if (!allowed.includes(k)) throw fail(`${key}.${k}`, `unknown key (known: ${allowed.join(', ')})`);
}

function text(value: unknown, key: string): string | null {
	if (value === undefined || value === null) return null;
	if (typeof value !== 'string') throw fail(key, 'expected a string');
	return value;
}

/** An http(s) URL, or one still holding ${VAR} (checked when expanded). */
function url(value: string, key: string): string {
	if (value.includes('$')) return value;
	if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) throw fail(key, `"${value.slice(0, 80)}" is not an http(s) URL`);
	return value;
}

function timeout(value: unknown, key: string): number {
	if (value === undefined || value === null) return 5000;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < 100 || n > 60_000) throw fail(key, `expected milliseconds from 100 to 60000, got ${JSON.stringify(value)}`);
	return n;
}

/** The web address behind an API address: api.github.com → github.com; HOST/api/v3 → HOST. */
export function webUrlFor(apiUrl: string): string {
	const u = new URL(apiUrl);
	if (u.hostname === 'api.github.com') return 'https://github.com';
	return `${u.protocol}//${u.host}${u.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '')}`;
}

export function parseNotify(value: unknown): NotifySettings | null {
	if (value === undefined || value === null) return null;
	const root = mapping(value, '');
	only(root, '', ['webhook', 'github']);
	let webhook: NotifySettings['webhook'] = null;
	if (root['webhook'] !== undefined && root['webhook'] !== null) {
		const raw = mapping(root['webhook'], 'webhook');
		only(raw, 'webhook', ['url', 'timeout_ms']);
		const given = text(raw['url'], 'webhook.url');
		if (given === null) throw fail('webhook.url', 'required when webhook is set');
		// Empty: compose interpolated an unset variable; not configured, said when sending.
		webhook = {url: given === '' ? '' : url(given, 'webhook.url'), timeoutMs: timeout(raw['timeout_ms'], 'webhook.timeout_ms')};
	}
	let github: NotifySettings['github'] = null;
	if (root['github'] !== undefined && root['github'] !== null) {
		const raw = mapping(root['github'], 'github');
		only(raw, 'github', ['repo', 'token_env', 'api_url', 'issue', 'timeout_ms']);
		const repo = text(raw['repo'], 'github.repo');
		if (!repo || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo)) throw fail('github.repo', `expected owner/name, got ${JSON.stringify(raw['repo'] ?? null)}`);
		const tokenEnv = text(raw['token_env'], 'github.token_env') ?? 'GITHUB_TOKEN';
		if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv)) throw fail('github.token_env', `"${tokenEnv}" is not an environment variable name (the token itself never goes in the Compose file)`);
		const apiUrl = url(text(raw['api_url'], 'github.api_url') || 'https://api.github.com', 'github.api_url');
		const issue = raw['issue'] ?? true;
		if (typeof issue !== 'boolean') throw fail('github.issue', 'expected true or false');
		github = {repo, tokenEnv, apiUrl, webUrl: apiUrl.includes('$') ? '' : webUrlFor(apiUrl), issue, timeoutMs: timeout(raw['timeout_ms'], 'github.timeout_ms')};
	}
	return {webhook, github};
}
