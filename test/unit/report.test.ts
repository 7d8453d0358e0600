// report.md from a timeline: every field of the incident record filled from the events and
// the capture, and "not recorded" (never a placeholder) where the timeline has nothing.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {errorLines} from '../../source/incident/follow-up/captured-facts.js';
import {renderReport, reportFacts, type CapturedFacts} from '../../source/incident/follow-up/report.js';
import type {TimelineEvent} from '../../source/incident/timeline.js';

let seq = 0;
const ev = (time: string, step: TimelineEvent['step'], type: string, data: Record<string, unknown> = {}, user = 'alice'): TimelineEvent => ({
	time: `2026-11-22T${time}.000Z`,
	seq: ++seq,
	operator: {user, ssh: '203.0.113.5 51234 203.0.113.9 22', pid: 1},
	step,
	type,
	data,
});

const events = [
	ev('03:00:00', null, 'incident_opened', {project: 'shop'}),
	ev('03:01:00', 'scope', 'scope_decision', {decision: 'rollback', reasons: ['previous version was stable'], note: 'checkout 500s since the deploy', overridden: false}),
	ev('03:01:00', 'scope', 'step_status', {status: 'done'}),
	ev('03:02:00', 'evidence', 'evidence_capture_complete', {captureId: 'c1', dir: '/nonexistent', bundle: '/b.tar.gz', items: 20}),
	ev('03:02:00', 'evidence', 'step_status', {status: 'done'}),
	ev('03:03:00', 'stabilise', 'rollback_start', {runId: 'r1', from: 'v1.4.0', to: 'v1.3.9', services: [{service: 'web', from: {tag: 'v1.4.0', digest: 'sha256:aaaa1111bbbb2222'}, to: {tag: 'v1.3.9', digest: 'sha256:cccc3333dddd4444'}}]}, 'bob'),
	ev('03:03:10', 'stabilise', 'verify', {runId: 'r1', checks: [{service: 'web', ok: true, states: ['running', 'healthy']}]}, 'bob'),
	ev('03:03:11', 'stabilise', 'rollback_complete', {runId: 'r1', success: true, duration: 11_000, message: null}, 'bob'),
	ev('03:03:11', 'stabilise', 'step_status', {status: 'done', reason: 'rollback to v1.3.9'}, 'bob'),
	ev('03:04:00', 'database', 'step_status', {status: 'done', reason: 'additive migration, left in place'}),
	ev('03:10:00', 'verify', 'verify_complete', {verified: true, summary: 'health 12/12, smoke 3/3, error rate 0.1/s (baseline 0.2/s)'}),
];

const capture: CapturedFacts = {
	captureId: 'c1',
	time: '2026-11-22T03:02:00.000Z',
	containers: [
		{name: 'shop-web-1', service: 'web', state: 'restarting', exitCode: 2, restartCount: 5, oomKilled: false, createdAt: '2026-11-22T02:50:00Z', startedAt: null, finishedAt: '2026-11-22T02:59:00Z', errors: errorLines(
			['2026-11-22T02:50:01Z stdout level=info msg="starting"', '2026-11-22T02:50:02Z stderr panic: runtime error: invalid memory address', '2026-11-22T02:51:02Z stderr panic: runtime error: invalid memory address', '2026-11-22T02:52:02Z stdout level=error msg="db 3 down"'].join('\n'),
		)},
		{name: 'shop-worker-1', service: 'worker', state: 'running', exitCode: 0, restartCount: 0, oomKilled: false, createdAt: null, startedAt: null, finishedAt: null, errors: []},
	],
};

test('every field of the incident record is filled from the timeline and the capture', () => {
	const facts = reportFacts({incident: {id: '20261122-030000-ab12', project: 'shop'}, events, capture, links: {from: null, to: null}, now: '2026-11-22T04:00:00.000Z', closing: true});
	const md = renderReport(facts);
	assert.match(md, /\*\*Opened:\*\* 2026-11-22T03:00:00\.000Z/);
	assert.match(md, /\*\*Closed:\*\* 2026-11-22T04:00:00\.000Z/);
	assert.match(md, /\*\*Duration:\*\* 1 h 0 min/);
	assert.match(md, /\*\*Detection:\*\* web \(shop-web-1\) failed at 2026-11-22T02:50:02Z; first error: `panic: runtime error: invalid memory address`/);
	assert.match(md, /\*\*Rolled back from:\*\* `v1\.4\.0` · digest aaaa1111bbbb/);
	assert.match(md, /\*\*Rolled back to:\*\* `v1\.3\.9` · digest cccc3333dddd/);
	assert.match(md, /\*\*Reason:\*\* rollback — "checkout 500s since the deploy" \(previous version was stable\)/);
	assert.match(md, /\*\*Migration state:\*\* left in place \(step 4 done: additive migration, left in place\)/);
	assert.match(md, /\*\*Who acted:\*\* alice \(SSH from 203\.0\.113\.5\), bob \(SSH from 203\.0\.113\.5\)/);
	assert.match(md, /\*\*Verification:\*\* verified at .*health 12\/12/);
	assert.match(md, /- \*\*web\*\* \(shop-web-1\): restarting, exit code 2, 5 restarts\n  - 2× `panic: runtime error: invalid memory address`\n  - 1× `level=error msg="db 3 down"`/);
	assert.doesNotMatch(md, /shop-worker-1\): running/);
	assert.match(md, /\| 2026-11-22 03:03:00Z \| stabilise \| rollback_start \| v1\.4\.0 → v1\.3\.9 \|/);
	for (const section of ['### Impact', '### Root cause', '### What went well', '### What went wrong', '### Action items', '## CHANGELOG', '## Reminders']) assert.ok(md.includes(section), section);
	assert.match(md, /- \[ \] Re-run the pipeline's gates on the good tag/);
	assert.match(md, /- \[ \] Keep database backups at least 7 days/);
	assert.match(md, /- 2026-11-22: v1\.4\.0 was rolled back to v1\.3\.9 on shop \(incident 20261122-030000-ab12\): web failed with "panic/);
});

test('what the timeline does not have is said to be missing, not left blank', () => {
	const bare = [ev('03:00:00', null, 'incident_opened')];
	const md = renderReport(reportFacts({incident: {id: 'x', project: 'shop'}, events: bare, capture: null, links: {from: null, to: null}, now: '2026-11-22T03:30:00.000Z'}));
	assert.match(md, /\*\*Closed:\*\* still open when this was written/);
	assert.match(md, /\*\*Rolled back from:\*\* not recorded/);
	assert.match(md, /\*\*Reason:\*\* not recorded: no Scope decision/);
	assert.match(md, /\*\*Migration state:\*\* not checked: step 4/);
	assert.match(md, /\*\*Verification:\*\* not verified: step 6 \(Verify\) was not run/);
	assert.match(md, /\*\*Detection:\*\* not recorded/);
	assert.doesNotMatch(md, /undefined|null|NaN|\[object/);
});

test('ticked reminders are recorded with who and when', () => {
	const ticked = [...events, ev('03:20:00', 'follow-up', 'reminder', {id: 'flags', done: true}, 'carol')];
	const facts = reportFacts({incident: {id: 'x', project: 'shop'}, events: ticked, capture, links: {from: null, to: null}, now: '2026-11-22T04:00:00.000Z'});
	assert.match(renderReport(facts), /- \[x\] Disable the feature flags the bad release turned on — ticked by carol at 2026-11-22T03:20:00\.000Z/);
});
