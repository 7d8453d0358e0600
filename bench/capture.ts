// `rollback-console capture` against the runbook an operator would paste to collect the same
// evidence by hand, run side by side on a stack of 3 services × 40,000 log lines. The runbook
// collects what the bundle holds, one command after another: every container's full log with
// timestamps, inspect of each container and image, compose ps and config, the project's events
// of the last 24 h, system df, docker info and versions, the host's disk, the configured health
// URL's answer, then tar+gzip and a sha256 beside it. (The capture also redacts every line and
// keeps an incident timeline, which the runbook does not.) Goal: ours ≤ 0.5× its wall time.
// Also: capture throughput in MB/s of log, against `docker logs > /dev/null` of the same
// containers all at once: the Engine's own limit, which bound the capture while it read logs
// only through the Engine (~0.42 of the runbook here). As root the capture reads the json-file
// driver's files instead (the same bytes: test/integration/json-file-log.test.ts).
import {execFileSync} from 'node:child_process';
import {statSync} from 'node:fs';
import {chmod, chown, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {CLI} from '../test/support/cli.js';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {compare} from './measure.js';
import {ensureUser} from '../test/faults/support/users.js';

const services = ['api', 'jobs', 'search'];
const lines = 40_000;
const line = 'level=info msg=\\"request handled\\" method=GET path=/api/orders/42 status=200 duration_ms=12 user=alice token=abc123';
const service = (name: string) => `
  ${name}:
    image: local/busybox:latest
    pull_policy: never
    network_mode: host
    restart: unless-stopped
    command: [sh, -c, 'yes "${line}" | head -n ${lines}; echo "${name}: ready"; trap "exit 0" TERM; while :; do sleep 3600 & wait $$!; done']`;

/** The operator's paste: sequential, into a fresh directory each run, ending with the archive and its sha256. */
function runbook(project: string, dir: string, healthUrl: string): string {
	return `set -e
out=$(mktemp -d ${tmpdir()}/runbook-XXXXXX)
e=$out/evidence; mkdir -p $e/containers $e/images
cd ${dir}
docker compose ps -a --format json > $e/compose-ps.json
docker compose config > $e/compose-config.yaml
docker compose version > $e/compose-version.txt
for c in $(docker compose ps -aq); do
  name=$(docker inspect -f '{{.Name}}' $c | tr -d /)
  docker inspect $c > $e/containers/$name.inspect.json
  docker logs --timestamps $c > $e/containers/$name.log 2>&1
done
for i in $(docker compose images -q | sort -u); do docker image inspect $i > $e/images/$i.json; done
docker events --since 24h --until "$(date +%s)" --format '{{json .}}' --filter label=com.docker.compose.project=${project} > $e/events.jsonl
docker info --format '{{json .}}' > $e/info.json
docker version --format '{{json .}}' > $e/version.json
docker system df -v > $e/system-df.txt
df -h > $e/host-df.txt
curl -s -m 5 -w '%{http_code} %{time_total}\\n' ${healthUrl} > $e/health.txt 2>&1 || true
tar czf $out/evidence.tar.gz -C $out evidence
sha256sum $out/evidence.tar.gz > $out/evidence.tar.gz.sha256
rm -rf $out`;
}

await ensureTestReleases();
// Just these services: the template's are scaled to zero.
const stack = await createStack({
	tag: 'v1.3.9',
	withDb: false,
	extraCompose: `services:\n  web: {deploy: {replicas: 0}}\n  worker: {deploy: {replicas: 0}}${services.map(service).join('')}\n`,
});
const state = await mkdtemp(path.join(tmpdir(), 'rc-bench-capture-'));
// An operator in the docker group but not root: dockerd's files are closed to them, so their
// capture reads the logs through the Engine. Timed too, as a user of its own (the fault
// suite's), when this runs as root (as root the capture reads the files: the goal's figure).
const asRoot = process.getuid?.() === 0;
const socket = statSync('/var/run/docker.sock', {throwIfNoEntry: false});
const groupUser = asRoot && socket ? {...ensureUser(), group: socket.gid, state: await mkdtemp(path.join(tmpdir(), 'rc-bench-capture-user-'))} : null;
if (groupUser) await chown(groupUser.state, groupUser.uid, groupUser.gid);
try {
	await stack.up();
	for (let i = 0; i < 300; i++) {
		const logs = await stack.compose(['logs', '--no-color', '--tail', '1']);
		if (services.every(s => logs.stdout.includes(`${s}: ready`))) break;
		await new Promise(resolve => setTimeout(resolve, 100));
	}
	await chmod(stack.dir, 0o755);
	const containers = services.map(s => `${stack.projectName}-${s}-1`);
	const logBytes = containers.reduce((sum, c) => sum + execFileSync('docker', ['logs', '--timestamps', c], {maxBuffer: 1 << 30}).length, 0);
	const ours = 'rollback-console capture';
	const theirs = 'runbook (sequential shell)';
	const engine = 'docker logs > /dev/null (all at once)';
	const user = 'capture by a docker-group user (no root)';
	const medians = compare(
		[
			{name: ours, command: [process.execPath, CLI, 'capture', '--state-dir', state], cwd: stack.dir},
			{name: theirs, command: ['sh', '-c', runbook(stack.projectName, stack.dir, `http://127.0.0.1:${stack.webPort}/health`)], cwd: stack.dir},
			{name: engine, command: ['sh', '-c', `${containers.map(c => `docker logs --timestamps ${c} >/dev/null 2>&1 &`).join(' ')} wait`]},
			...(groupUser
				? [
						{
							name: user,
							command: ['setpriv', `--reuid=${groupUser.uid}`, `--regid=${groupUser.gid}`, `--groups=${groupUser.group}`, '--', process.execPath, CLI, 'capture', '--state-dir', groupUser.state],
							cwd: stack.dir,
							env: {HOME: groupUser.state},
						},
					]
				: []),
		],
		{runs: 3, warmup: 1},
	);
	for (const [name, ms] of medians) console.log(`${name.padEnd(40)} median ${ms.toFixed(0)} ms`);
	const mbps = (ms: number) => (logBytes / 1e6 / (ms / 1000)).toFixed(0);
	console.log(
		`capture throughput: ${mbps(medians.get(ours)!)} MB/s of log (${(logBytes / 1e6).toFixed(0)} MB in ${services.length} containers); docker logs > /dev/null: ${mbps(medians.get(engine)!)} MB/s`,
	);
	console.log(`capture ratio (ours / runbook, same content): ${(medians.get(ours)! / medians.get(theirs)!).toFixed(2)}  (goal ≤ 0.50)`);
	const bound = `bound by the Engine: docker logs alone is ${(medians.get(engine)! / medians.get(theirs)!).toFixed(2)}`;
	if (groupUser) console.log(`… by a docker-group user, the logs through the Engine: ${(medians.get(user)! / medians.get(theirs)!).toFixed(2)} (${bound})`);
	else if (!asRoot) console.log(`… not run as root: the capture above read the logs through the Engine (${bound})`);
} finally {
	await stack.down();
	await rm(state, {recursive: true, force: true});
	if (groupUser) await rm(groupUser.state, {recursive: true, force: true});
}
