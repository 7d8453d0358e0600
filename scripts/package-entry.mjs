// The bundle's entry (scripts/bundle.mjs, for dist/ and the single file): the CLI, or — when
// the bundle runs itself again with the hidden worker argument (source/incident/stabilise/launch.ts)
// — the detached rollback worker, which then reads its job file from argv[2] as it always does.
/* global ROLLBACK_CONSOLE_WORKER_ARG */
if (process.argv[2] === ROLLBACK_CONSOLE_WORKER_ARG) {
	process.argv.splice(2, 1);
	await import('../source/console/rollback-worker.ts');
} else {
	await import('../cli.tsx');
}
