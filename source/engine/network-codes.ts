/** Node's network error codes in the few words an operator reads (health probes, registry). */
export const networkCodes: Readonly<Record<string, string>> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	ENOTFOUND: 'host not found',
	EAI_AGAIN: 'host not found (DNS lookup failed)',
	EHOSTUNREACH: 'host unreachable',
	ENETUNREACH: 'network unreachable',
	ETIMEDOUT: 'connection timed out',
	UND_ERR_SOCKET: 'connection closed by the server',
	UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
};
