// The health URLs Verify probes: those configured under `x-rollback-console.health`, else
// the ones in the services' own healthcheck commands (`curl`/`wget` on 127.0.0.1 or
// localhost), so a stack with no configuration is still checked from the outside.
import type {ComposeConfig} from '../../engine/types.js';
import type {HealthTarget} from '../health.js';

export interface VerifyTarget extends HealthTarget {
	/** `configured`, or the service whose healthcheck names it. */
	from: string;
}

const urlPattern = /https?:\/\/(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?(?:\/[^\s'"`;|&)]*)?/g;

/** The URLs a healthcheck command fetches with curl or wget, on this box only. */
export function healthcheckUrls(test: readonly string[] | null | undefined): string[] {
	if (!test || test.length < 2 || test[0] === 'NONE') return [];
	const command = test[0] === 'CMD-SHELL' ? test.slice(1).join(' ') : test[0] === 'CMD' ? test.slice(1).join(' ') : test.join(' ');
	if (!/\b(curl|wget)\b/.test(command)) return [];
	return [...new Set(command.match(urlPattern) ?? [])];
}

export function verifyTargets(configured: readonly HealthTarget[], config: ComposeConfig): VerifyTarget[] {
	if (configured.length > 0) return configured.map(t => ({...t, from: 'configured'}));
	const seen = new Set<string>();
	const targets: VerifyTarget[] = [];
	for (const [service, declared] of Object.entries(config.services).sort(([a], [b]) => a.localeCompare(b))) {
		for (const url of healthcheckUrls(declared.healthcheckTest)) {
			if (seen.has(url)) continue;
			seen.add(url);
			targets.push({url, headers: {}, expectStatus: 200, timeoutMs: 5000, from: `${service}'s healthcheck`});
		}
	}
	return targets;
}
