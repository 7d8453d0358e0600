// `rollback-console capture` against the runbook's sequential shell procedure, in one run,
// on a 6-service stack with 100,000 log lines per service. Goal: ≤ 0.5× its wall time
// while collecting more (full logs, not the last 200 lines; events, versions, health…).
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {CLI} from '../test/support/cli.js';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {compare} from './measure.js';

const services = ['api', 'jobs', 'frontend', 'cron', 'mailer', 'search'];
const lines = 100_000;
const line = 'level=info msg=\\"request handled\\" method=GET path=/api/orders/42 status=200 duration_ms=12 user=alice';
const service = (name: string) => `
  ${name}:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    restart: unless-stopped
    command: [sh, -c, 'yes "${line}" | head -n ${lines}; echo "${name}: ready"; trap "exit 0" TERM; while :; do sleep 3600 & wait $$!; done']`;

await ensureTestReleases();
// Just the six services: the template's are scaled to zero.
const stack = await createStack({
	tag: 'v1.3.9',
	withDb: false,
	extraCompose: `services:\n  web: {deploy: {replicas: 0}}\n  worker: {deploy: {replicas: 0}}${services.map(service).join('')}\n`,
});
const state = await mkdtemp(path.join(tmpdir(), 'rc-bench-capture-'));
try {
	await stack.up();
	for (let i = 0; i < 200; i++) {
		const logs = await stack.compose(['logs', '--no-color', '--tail', '1']);
		if (services.every(s => logs.stdout.includes(`${s}: ready`))) break;
		await new Promise(resolve => setTimeout(resolve, 100));
	}
	const compose = `docker compose --project-directory ${stack.dir} -p ${stack.projectName}`;
	const runbook = [
		`${compose} ps`,
		...services.map(s => `${compose} logs --tail 200 ${s}`),
		...services.map(s => `docker inspect ${stack.projectName}-${s}-1`),
		'df -h',
		'docker system df',
	].join(' && ');
	const medians = compare(
		[
			{name: 'rollback-console capture', command: [process.execPath, CLI, 'capture', '--state-dir', state], cwd: stack.dir},
			{name: 'runbook (sequential shell)', command: ['sh', '-c', `${runbook} >/dev/null`], cwd: stack.dir},
		],
		{runs: 5, warmup: 1},
	);
	const ours = medians.get('rollback-console capture')!;
	const theirs = medians.get('runbook (sequential shell)')!;
	for (const [name, ms] of medians) console.log(`${name.padEnd(28)} median ${ms.toFixed(0)} ms`);
	console.log(`capture ratio (ours / runbook): ${(ours / theirs).toFixed(2)}  (goal ≤ 0.50) — ours: full logs (${services.length} × ${lines} lines), inspect, health, events, versions, host; runbook: last 200 lines`);
} finally {
	await stack.down();
	await rm(state, {recursive: true, force: true});
}
