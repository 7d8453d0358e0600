/** What to probe: a URL, its headers (with ${VAR} from the environment), the status that means up. */
export interface HealthTarget {
	url: string;
	headers: Record<string, string>;
	expectStatus: number;
	timeoutMs: number;
}

/** One probe of a configured health URL. */
export interface HealthProbe {
	url: string;
	ok: boolean;
	/** HTTP status, or null when no response came back. */
	status: number | null;
	expectStatus: number;
	latencyMs: number;
	/** Why it failed: timeout, connection refused, unexpected status… */
	error: string | null;
	/** The first bytes of the body, for the operator's eyes (redacted before export). */
	body: string;
	time: string;
}

/** Expands ${VAR} and $VAR from the environment in a configured header value. */
export function expandVariables(value: string, env: NodeJS.ProcessEnv = process.env): string {
	return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced, bare) => env[braced ?? bare] ?? '');
}
