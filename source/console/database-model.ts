import {ComposeCli} from '../engine/compose-cli.js';
import {DockerDatabaseEngine} from '../engine/database-engine.js';
import type {ComposeProject} from '../engine/types.js';
import {gatherDatabase, type DatabaseFacts, type DatabaseOutside} from '../incident/database/gather.js';
import {planDatabase, type DatabaseAction} from '../incident/database/plan.js';
import {runDatabaseAction, type RunDatabaseOptions} from '../incident/database/run.js';
import {currentOperator} from '../incident/operator.js';
import {acquireLock, holderFor, lockState, releaseLock} from '../incident/project-lock.js';
import {runAction, type Outcome, type Recorder} from '../incident/step-kit.js';
import type {DatabaseModel} from '../ui/console-model.js';
import {connectStabilise} from './connect-stabilise.js';

/** The real engine, compose, registry and the database exec client, for `db` and the console's step 4. */
export function connectDatabase(env: NodeJS.ProcessEnv = process.env): DatabaseOutside {
	const compose = new ComposeCli(env);
	return {...connectStabilise(env, compose), database: DockerDatabaseEngine.connect(env)};
}

/**
 * Runs one confirmed action under the project's lock, recorded as the step kit records it
 * (action_start, action_result): the console and `db backup/restore/down` both come here.
 */
export async function runLocked(
	facts: DatabaseFacts,
	action: DatabaseAction,
	record: Recorder,
	options: RunDatabaseOptions & {signal?: AbortSignal; what: string},
): Promise<Outcome & {ms: number}> {
	// The console holds the project already: then it is ours, and stays ours after the action.
	const before = await lockState(facts.projectDir);
	const held = before.state === 'mine' ? null : await acquireLock(facts.projectDir, holderFor(currentOperator(), options.what));
	try {
		return await runAction(record, 'database', action, (a, signal) => runDatabaseAction(facts, a, signal, options), options.signal);
	} finally {
		if (held) await releaseLock(facts.projectDir, held.holder).catch(() => {});
	}
}

/** The console's Database step: gather (changes nothing), plan, and run one confirmed action. */
export function createDatabaseModel({project, stateDir, readOnly}: {project: ComposeProject; stateDir: string; readOnly: boolean}): DatabaseModel {
	let outside: DatabaseOutside | null = null;
	let facts: DatabaseFacts | null = null;
	return {
		async gather() {
			outside ??= connectDatabase();
			facts = await gatherDatabase(outside, project, stateDir);
			return {facts, plan: planDatabase(facts)};
		},
		async run(action, record, options = {}) {
			if (readOnly) throw new Error('read-only: the Database step changes nothing');
			if (!facts) throw new Error('gather first');
			return runLocked(facts, action, record, {...options, what: `db ${action.kind} (console)`});
		},
	};
}
