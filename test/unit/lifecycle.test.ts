// The incident lifecycle's rules: what the current failure is, when an open incident is left
// over a new problem, and that evidence captured before the failing containers does not count.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {assessOpenIncident, currentFailure, evidenceCoversFailure, newProblemNotice} from '../../source/incident/lifecycle.js';
import type {ServiceStatus} from '../../source/incident/service-status.js';
import type {TimelineEvent} from '../../source/incident/timeline.js';

const now = Date.parse('2026-11-22T05:00:00Z');
let seq = 0;
const ev = (time: string, type: string, data: Record<string, unknown> = {}): TimelineEvent => ({time, seq: ++seq, operator: {user: 'alice', ssh: null, pid: 1}, step: null, type, data});

function service(name: string, ok: boolean, createdAt: string): ServiceStatus {
	return {
		service: name,
		containers: [{name: `shop-${name}-1`, id: name, state: ok ? 'running' : 'restarting', health: 'none', restartCount: ok ? 0 : 4, exitCode: ok ? null : 2, oomKilled: false, startedAt: createdAt, createdAt, uptimeSeconds: null}],
		state: ok ? 'running' : 'restarting',
		health: 'none',
		restartCount: ok ? 0 : 4,
		exitCode: ok ? null : 2,
		uptimeSeconds: null,
		image: {configured: null, tag: 'v1.4.0', id: null, digest: null},
		healthcheck: false,
		ok,
	} as ServiceStatus;
}

const incident = [
	ev('2026-11-22T03:00:00Z', 'incident_opened'),
	ev('2026-11-22T03:05:00Z', 'evidence_capture_complete'),
	ev('2026-11-22T03:10:00Z', 'rollback_start'),
	ev('2026-11-22T03:11:00Z', 'rollback_complete', {success: true}),
];

test('a healthy stack has no current failure and is never a new problem', () => {
	assert.equal(currentFailure([service('web', true, '2026-11-22T04:50:00Z')]), null);
	assert.equal(assessOpenIncident(incident, null, now).newProblem, false);
});

test('failing containers created after the incident\'s last action: a new problem, said with the ages', () => {
	const failure = currentFailure([service('web', false, '2026-11-22T04:55:00Z'), service('worker', true, '2026-11-22T03:11:00Z')])!;
	assert.deepEqual(failure.services, ['web']);
	assert.equal(failure.since, '2026-11-22T04:55:00Z');
	const assessment = assessOpenIncident(incident, failure, now);
	assert.equal(assessment.newProblem, true);
	assert.equal(
		newProblemNotice({id: '20261122-030000-ab12', openedAt: '2026-11-22T03:00:00Z'}, assessment, now),
		"the open incident 20261122-030000-ab12 is from 2 h ago; this looks like a new problem: shop-web-1 was created 5 min ago, after the incident's last action 2 h ago",
	);
});

test('the failure the incident is working on is not a new problem', () => {
	const working = [ev('2026-11-22T03:00:00Z', 'incident_opened'), ev('2026-11-22T03:05:00Z', 'evidence_capture_complete')];
	const failure = currentFailure([service('web', false, '2026-11-22T02:55:00Z')]);
	assert.equal(assessOpenIncident(working, failure, now).newProblem, false);
});

test('failing again in old containers after a successful rollback is a new problem', () => {
	const failure = currentFailure([service('web', false, '2026-11-22T03:10:30Z')]);
	const assessment = assessOpenIncident(incident, failure, now);
	assert.equal(assessment.newProblem, true);
	assert.match(assessment.reason!, /web fails again after the stack was brought back/);
});

test('evidence is about the current failure: a capture from before its containers were created does not count', () => {
	assert.equal(evidenceCoversFailure(null, null), false);
	assert.equal(evidenceCoversFailure(incident, '2026-11-22T04:55:00Z'), false);
	assert.equal(evidenceCoversFailure(incident, '2026-11-22T03:01:00Z'), true);
	assert.equal(evidenceCoversFailure([...incident, ev('2026-11-22T04:58:00Z', 'evidence_capture_complete')], '2026-11-22T04:55:00Z'), true);
	// No failure now (rolling back a healthy stack): any capture of the incident counts.
	assert.equal(evidenceCoversFailure(incident, null), true);
});
