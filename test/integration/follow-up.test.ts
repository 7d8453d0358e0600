// Step 7 on the real engine and registry: a real incident (a bad deploy, capture, rollback, verify)
// gives a report.md with every field filled from the timeline, and `close` leaves a bundle
// that `sha256sum -c` verifies and that holds it. Then the story of issue 14: the incident is
// closed, the stack breaks again, and `capture`/`rollback` open a new incident; `rollback`
// warns that the current failure's evidence is not captured, and an incident left open over
// a newer failure is pointed out.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {after, before, test} from 'node:test';
import {openConsole} from '../../source/console/open-console.js';
import type {GlobalOptions} from '../../source/commands/global-options.js';
import type {IncidentGate} from '../../source/ui/incident-gate.js';
import {runCli} from '../support/cli.js';
import {buildRelease, newRepo, removeLocalImages, useRepo} from '../support/release-repo.js';
import {createStack, type Stack} from '../support/stack.js';

const run = promisify(execFile);
const repo = newRepo();
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-follow-up-state-'));
let stack: Stack;

// The webhook and GitHub's API, served here on 127.0.0.1: what the CLI sent them.
const TOKEN = `ghp_integration${'Z'.repeat(24)}`;
const hooks: Array<Record<string, unknown>> = [];
const issues: Array<{auth: string | undefined; body: {title: string; body: string}}> = [];
let server: Server;

before(async () => {
	server = createServer((req, res) => {
		let text = '';
		req.on('data', chunk => (text += chunk));
		req.on('end', () => {
			res.setHeader('content-type', 'application/json');
			if (req.url === '/hook') {
				hooks.push(JSON.parse(text) as Record<string, unknown>);
				return res.end('{}');
			}
			if (req.url === '/api/repos/org/app/issues') {
				issues.push({auth: req.headers['authorization'], body: JSON.parse(text) as {title: string; body: string}});
				res.writeHead(201);
				return res.end(JSON.stringify({html_url: 'https://github.example/org/app/issues/1', number: 1}));
			}
			res.writeHead(404);
			res.end('{"message":"Not Found"}');
		});
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const base = `http://127.0.0.1:${(server.address() as {port: number}).port}`;
	await Promise.all([buildRelease(repo, 'v1.3.8'), buildRelease(repo, 'v1.3.9'), buildRelease(repo, 'v1.4.0', true)]);
	stack = await createStack({tag: 'v1.3.8', withDb: false});
	await useRepo(stack, repo);
	const file = path.join(stack.dir, 'compose.yaml');
	const text = readFileSync(file, 'utf8');
	writeFileSync(
		file,
		text.replace(
			'x-rollback-console:\n',
			`x-rollback-console:\n  notify:\n    webhook: {url: "${base}/hook"}\n    github: {repo: org/app, token_env: TEST_FOLLOW_UP_TOKEN, api_url: "${base}/api"}\n`,
		),
	);
	await stack.up({wait: true});
});

after(async () => {
	server?.close();
	await stack?.down();
	await removeLocalImages(repo);
	rmSync(stateDir, {recursive: true, force: true});
});

const consoleOptions = (): GlobalOptions => ({readOnly: false, color: false, json: false, yes: false, redact: true, projectDir: stack.dir, stateDir});
const cli = (args: string[]) => runCli([...args, '--project-dir', stack.dir, '--state-dir', stateDir], {timeoutMs: 120_000, env: {TEST_FOLLOW_UP_TOKEN: TOKEN}});
const incidentsDir = () => path.join(stateDir, stack.projectName, 'incidents');
const incidentIds = () => readdirSync(incidentsDir()).sort();
const events = (id: string) =>
	readFileSync(path.join(incidentsDir(), id, 'timeline.jsonl'), 'utf8')
		.trim()
		.split('\n')
		.map(line => JSON.parse(line) as {time: string; type: string; step: string | null; data: Record<string, unknown>});

/** A bad deploy the way they arrive: the tag changed and a plain `up`, then a few crashes. */
async function badDeploy() {
	await stack.setTag('v1.4.0');
	await stack.compose(['up', '-d'], {allowFail: true});
	await new Promise(resolve => setTimeout(resolve, 4000));
}

let closedId = '';

test('a real incident: bad deploy → capture → rollback → verify → close gives report.md with every field, in a verifiable bundle', async () => {
	const deployed = await cli(['deploy', '--to', 'v1.3.9', '--yes']);
	assert.equal(deployed.exitCode, 0, deployed.stderr + deployed.stdout);
	await badDeploy();

	const captured = await cli(['capture', '--json']);
	assert.equal(captured.exitCode, 0, captured.stderr);
	const rolled = await cli(['rollback', '--yes', '--json']);
	assert.equal(rolled.exitCode, 0, rolled.stderr + rolled.stdout);
	const plan = JSON.parse(rolled.stdout) as {plan: {warnings: Array<{id: string}>}};
	assert.ok(!plan.plan.warnings.some(w => w.id === 'evidence'), 'evidence of this failure was captured: no warning');
	const verified = await cli(['verify', '--no-wait', '--json']);
	assert.equal(verified.exitCode, 0, verified.stderr + verified.stdout);

	const [id] = incidentIds();
	closedId = id!;
	const report = await cli(['report', '--json']);
	assert.equal(report.exitCode, 0, report.stderr);
	assert.equal((JSON.parse(report.stdout) as {incident: string}).incident, id);

	const closed = await cli(['close', '--yes']);
	assert.equal(closed.exitCode, 0, closed.stderr + closed.stdout);
	const bundle = /^bundle: (\S+)$/m.exec(closed.stdout)?.[1];
	const sha = /^sha256: ([0-9a-f]{64})/m.exec(closed.stdout)?.[1];
	assert.ok(bundle && sha, closed.stdout);
	assert.match(closed.stdout, new RegExp(`incident ${id} closed`));

	// report.md: every field of the record, from this incident's timeline.
	const md = readFileSync(path.join(incidentsDir(), id!, 'report.md'), 'utf8');
	const timeline = events(id!);
	const opened = timeline.find(e => e.type === 'incident_opened')!.time;
	assert.match(md, new RegExp(`\\*\\*Opened:\\*\\* ${opened.replace(/\./g, '\\.')}`));
	assert.match(md, /\*\*Closed:\*\* \d{4}-\d\d-\d\dT/);
	assert.match(md, /\*\*Duration:\*\* \d+ (s|min)/);
	assert.match(md, /\*\*Detection:\*\* web \(\S+-web-1\) failed at \S+; first error: `panic: runtime error: invalid memory address/);
	assert.match(md, /\*\*Rolled back from:\*\* `v1\.4\.0` · digest [0-9a-f]{12}/);
	assert.match(md, /\*\*Rolled back to:\*\* `v1\.3\.9` · digest [0-9a-f]{12}/);
	assert.match(md, /\*\*Rollback:\*\* completed in \d+\.\d s/);
	assert.match(md, /\*\*Reason:\*\* not recorded: no Scope decision in the timeline/, 'headless: Scope was not run, and the report says so');
	assert.match(md, /\*\*Migration state:\*\* not checked: step 4/);
	assert.match(md, new RegExp(`\\*\\*Who acted:\\*\\* ${os.userInfo().username} \\(`));
	assert.match(md, /\*\*Verification:\*\* verified at \d{4}-\d\d-\d\dT/);
	assert.match(md, /- web: ok \(/);
	assert.match(md, /- \*\*web\*\* \(\S+-web-1\): (restarting|exited|crash-looping \(running between restarts\)), exit code 2, \d+ restarts\n  - \d+× `panic: runtime error/);
	assert.match(md, /\| evidence \| evidence_capture_complete \|/);
	assert.match(md, /\| stabilise \| rollback_start \| v1\.4\.0 → v1\.3\.9 \|/);
	assert.match(md, /- \[ \] Confirm the rolled-back release passed CI — CI unknown for v1\.3\.9: its image has no org\.opencontainers\.image\.revision label/);
	assert.match(md, /## CHANGELOG\n\n```markdown\n- \d{4}-\d\d-\d\d: v1\.4\.0 was rolled back to v1\.3\.9/);

	// The bundle: sha256sum -c verifies it, and it holds the report.
	const dir = path.dirname(bundle!);
	const check = await run('sha256sum', ['-c', `${path.basename(bundle!)}.sha256`], {cwd: dir});
	assert.match(check.stdout, /: OK/);
	const listing = (await run('tar', ['tzf', bundle!])).stdout;
	assert.match(listing, /\/report\.md$/m);
	const inBundle = (await run('tar', ['xzf', bundle!, '--wildcards', '*/report.md', '-O'])).stdout;
	assert.match(inBundle, /\*\*Rolled back to:\*\* `v1\.3\.9`/);

	// Notified: opened (by capture), rollback started and completed, closed; the issue with the report.
	assert.deepEqual(
		hooks.map(h => h['event']),
		['incident_opened', 'rollback_started', 'rollback_completed', 'incident_closed'],
	);
	assert.ok(hooks.every(h => h['incident'] === id && typeof h['text'] === 'string'));
	assert.equal(hooks[3]!['sha256'], sha);
	assert.equal(hooks[3]!['issue'], 'https://github.example/org/app/issues/1');
	assert.equal(issues.length, 1);
	assert.equal(issues[0]!.auth, `Bearer ${TOKEN}`);
	assert.match(issues[0]!.body.body, /\*\*Rolled back to:\*\* `v1\.3\.9`/);
	assert.match(closed.stdout, /^issue: https:\/\/github\.example\/org\/app\/issues\/1$/m);

	// The token is in no file written: the state dir, and everything in the bundle.
	const unpacked = mkdtempSync(path.join(os.tmpdir(), 'rc-follow-up-bundle-'));
	try {
		await run('tar', ['xzf', bundle!, '-C', unpacked]);
		for (const root of [stateDir, unpacked]) {
			for (const file of readdirSync(root, {recursive: true}) as string[]) {
				const full = path.join(root, file);
				if (statSync(full).isFile()) assert.ok(!readFileSync(full).includes(TOKEN), `${full} holds the token`);
			}
		}
	} finally {
		rmSync(unpacked, {recursive: true, force: true});
	}

	const after = events(id!);
	assert.ok(after.some(e => e.type === 'incident_exported' && e.data['sha256'] === sha), 'the bundle and its sha256 are in the timeline');
	assert.deepEqual(after.slice(-2).map(e => e.type), ['incident_closed', 'action_result'], 'closed, and the close action\'s result recorded');

	const history = await cli(['history', '--json']);
	const past = (JSON.parse(history.stdout) as {incidents: Array<{id: string; closedAt: string | null; from: string; to: string; outcome: string}>}).incidents;
	assert.deepEqual(
		past.map(i => ({id: i.id, closed: Boolean(i.closedAt), from: i.from, to: i.to, outcome: i.outcome})),
		[{id, closed: true, from: 'v1.4.0', to: 'v1.3.9', outcome: 'rolled back'}],
	);
	const again = await cli(['close', '--yes']);
	assert.equal(again.exitCode, 2);
	assert.match(again.stderr, /no open incident .*nothing to close/);
});

test('the story: closed → broken again → a new incident; rollback warns the current failure\'s evidence is not captured', async () => {
	assert.ok(closedId, 'runs after the first test');
	// The console on the healthy stack with no incident open asks first, and opens nothing on q.
	const asked: IncidentGate[] = [];
	await assert.rejects(
		openConsole(consoleOptions(), {
			ask: async (_name, gate) => {
				asked.push(gate);
				return 'quit';
			},
		}),
	);
	assert.deepEqual(asked.map(g => [g.kind, g.text]), [['none', 'no incident open: every service runs']]);
	assert.equal(incidentIds().length, 1, 'quitting at the gate opens nothing');

	await badDeploy();
	// The console on the broken stack opens a new incident without asking (the old one is closed).
	const opened = await openConsole(consoleOptions(), {ask: async gate => assert.fail(`not asked: ${JSON.stringify(gate)}`)});
	const second = opened.model.incident.id;
	opened.close();
	assert.notEqual(second, closedId);
	assert.equal(opened.model.incident.resumed, false);
	// capture continues it; so does the rollback.
	const captured = await cli(['capture', '--json']);
	assert.equal(captured.exitCode, 0, captured.stderr);
	assert.deepEqual(incidentIds(), [closedId, second].sort());
	const rolled = await cli(['rollback', '--yes', '--json']);
	assert.equal(rolled.exitCode, 0, rolled.stderr);
	assert.equal((JSON.parse(rolled.stdout) as {incident: string}).incident, second);

	// Broken once more while the second incident is still open: pointed out, and its capture
	// (older than the failing containers) does not clear the warning.
	await badDeploy();
	// The console points it out and asks: c continues the open incident.
	const gates: IncidentGate[] = [];
	const continued = await openConsole(consoleOptions(), {
		ask: async (_name, gate) => {
			gates.push(gate);
			return 'continue';
		},
	});
	continued.close();
	assert.equal(gates[0]?.kind, 'new-problem');
	assert.match(gates[0]!.text, new RegExp(`the open incident ${second} is from \\d+ (s|min) ago; this looks like a new problem`));
	assert.equal(continued.model.incident.id, second);
	const third = await cli(['rollback', '--yes', '--json']);
	assert.equal(third.exitCode, 0, third.stderr);
	assert.match(third.stderr, new RegExp(`the open incident ${second} is from \\d+ (s|min) ago; this looks like a new problem: \\S+-web-1 was created`));
	const warnings = (JSON.parse(third.stdout) as {plan: {warnings: Array<{id: string; text: string}>}}).plan.warnings;
	assert.match(warnings.find(w => w.id === 'evidence')?.text ?? '', /evidence of the current failure not captured: the last capture is older than the failing containers/);

	// Headless without --yes: refused, nothing ends; listing the steps not done first.
	const refused = await cli(['close']);
	assert.equal(refused.exitCode, 2);
	assert.match(refused.stdout, /Steps not done:\n {2}! 1\. Scope \(not-started\)/);
	assert.match(refused.stderr, /close refused: no terminal to confirm on; pass --yes/);
	assert.equal(events(second).filter(e => e.type === 'incident_closed').length, 0);
	// After closing, a rollback with no capture opens a third incident and warns too.
	assert.equal((await cli(['close', '--yes'])).exitCode, 0);
	await badDeploy();
	const fresh = await cli(['rollback', '--yes', '--json']);
	assert.equal(fresh.exitCode, 0, fresh.stderr);
	const parsed = JSON.parse(fresh.stdout) as {incident: string; plan: {warnings: Array<{id: string; text: string}>}};
	assert.ok(!incidentIds().slice(0, 2).includes(parsed.incident), 'a new incident');
	assert.match(parsed.plan.warnings.find(w => w.id === 'evidence')?.text ?? '', /evidence not captured yet/);
});
