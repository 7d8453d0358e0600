import type {GlobalOptions} from '../commands/global-options.js';
import type {ExitCode} from '../errors.js';

export async function runConsole(_options: GlobalOptions): Promise<ExitCode> {
	throw new Error('not yet');
}
