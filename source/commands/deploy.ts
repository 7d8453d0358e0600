import type {GlobalOptions} from './global-options.js';
import {runRelease} from './rollback.js';

/** `deploy --to REF`: the rollback machinery, forward, so releases.jsonl fills in normal use. */
export function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	return runRelease('deploy', options, args);
}
