// Closing: refused while a rollback worker runs (naming it), the steps not done listed,
// and the close plan saying what it will do.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {closePlan, closeRefusal, unfinishedSteps} from '../../source/incident/follow-up/close.js';
import {currentOperator} from '../../source/incident/operator.js';
import {acquireLock, holderFor} from '../../source/incident/project-lock.js';
import {parseSettings} from '../../source/incident/settings.js';
import type {TimelineEvent} from '../../source/incident/timeline.js';

const dirs: string[] = [];
after(() => dirs.forEach(d => rmSync(d, {recursive: true, force: true})));

test('close is refused while a rollback worker runs, naming its pid and run', async () => {
	const projectDir = mkdtempSync(path.join(os.tmpdir(), 'rc-close-'));
	dirs.push(projectDir);
	const dir = path.join(projectDir, 'incidents', '20261122-030000-ab12');
	mkdirSync(path.join(dir, 'worker', '20261122T031209Z-rollback-4f2a'), {recursive: true});
	assert.equal(await closeRefusal({dir, projectDir}), null, 'no worker holds the project: it may close');

	// A live process holds the lock as the worker, and its run has no result yet.
	const worker = spawn('sleep', ['30'], {stdio: 'ignore'});
	try {
		await acquireLock(projectDir, holderFor(currentOperator(), 'rollback to v1.3.9 (worker)', worker.pid!));
		const refusal = await closeRefusal({dir, projectDir});
		assert.match(refusal ?? '', new RegExp(`a rollback worker \\(pid ${worker.pid}\\) is still running 20261122T031209Z-rollback-4f2a`));
	} finally {
		worker.kill();
	}
});

test('the steps not done are listed; the plan says what closing does', () => {
	const ev = (step: TimelineEvent['step'], status: string): TimelineEvent => ({time: '2026-11-22T03:00:00Z', seq: 1, operator: {user: 'a', ssh: null, pid: 1}, step, type: 'step_status', data: {status}});
	assert.deepEqual(unfinishedSteps([ev('scope', 'done'), ev('evidence', 'done'), ev('stabilise', 'failed'), ev('database', 'skipped'), ev('disk', 'skipped')]), [
		'3. Stabilise (failed)',
		'6. Verify (not-started)',
	]);
	const settings = parseSettings({notify: {webhook: {url: 'http://127.0.0.1:9/hook'}, github: {repo: 'org/app'}}});
	const plan = closePlan({incident: {id: 'i1', dir: '/s/p/incidents/i1', projectDir: '/s/p', timeline: null as never}, settings, project: 'shop'});
	assert.deepEqual(plan.map(a => a.id), ['report', 'issue', 'export', 'notify', 'end']);
	assert.match(plan[1]!.does[0]!, /^POST https:\/\/api\.github\.com\/repos\/org\/app\/issues \(token from \$GITHUB_TOKEN/);
	assert.ok(plan.every(a => !a.destructive));
	assert.deepEqual(closePlan({incident: {id: 'i1', dir: '/d', projectDir: '/p', timeline: null as never}, settings: parseSettings({}), project: 'shop'}).map(a => a.id), ['report', 'export', 'end']);
});
