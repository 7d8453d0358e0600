import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {ContainerInfo, LogLine} from '../../source/engine/types.js';
import type {HealthProbe} from '../../source/incident/health.js';
import {parseSettings} from '../../source/incident/settings.js';
import type {LoadedProject} from '../../source/incident/status.js';
import {measureCriteria} from '../../source/incident/verify/criteria.js';
import type {VerifyOutside} from '../../source/incident/verify/run.js';

const now = Date.parse('2026-11-22T03:10:00Z');
const loaded: LoadedProject = {
	project: {workingDir: '/srv/shop', files: [], name: null},
	name: 'shop',
	config: {name: 'shop', services: {web: {image: 'app:v2', build: false, healthcheck: false, networkMode: 'host', environment: {}, volumes: []}}, volumes: {}, extension: null},
	settings: parseSettings({release: {services: ['web']}, health: [{url: 'http://127.0.0.1:8080/health'}]}),
};

function box(options: {deployedAgoMs: number; status: number; errorsPerMinute: number}): VerifyOutside {
	const created = now - options.deployedAgoMs;
	const web: ContainerInfo = {
		id: 'w', name: 'shop-web-1', project: 'shop', service: 'web', number: 1, state: 'running', health: 'none', restartCount: 0, exitCode: null, oomKilled: false,
		startedAt: new Date(created).toISOString(), finishedAt: null, createdAt: new Date(created).toISOString(), image: 'app:v2', imageId: 'sha256:1', labels: {},
	};
	return {
		engine: {address: 't', version: async () => ({version: '', apiVersion: '', os: '', arch: '', kernel: ''}), projectContainers: async () => [web], image: async () => null, watchEvents: async () => {}, followServiceLogs: async function* () {}},
		async *containerLog(): AsyncIterable<LogLine[]> {
			const lines: LogLine[] = [];
			for (let t = created; t < now; t += 60_000 / Math.max(1, options.errorsPerMinute)) {
				lines.push({stream: 'stderr', time: new Date(t).toISOString(), text: options.errorsPerMinute > 0 ? 'level=error msg=boom' : 'level=info msg=ok'});
			}
			yield lines;
		},
		probe: async (target): Promise<HealthProbe> => ({url: target.url, ok: options.status === 200, status: options.status, expectStatus: 200, latencyMs: 1, error: options.status === 200 ? null : `expected 200, got ${options.status}`, body: '', time: ''}),
		http: async () => ({status: null, headers: {}, cookies: {}, body: '', url: '', latencyMs: 0, error: 'unused'}),
		env: {},
		now: () => now,
	};
}

test('health failing for 8 minutes since the deploy and an error spike: both met, with figures; roll back', async () => {
	const result = await measureCriteria(box({deployedAgoMs: 8 * 60_000, status: 500, errorsPerMinute: 30}), loaded, {baseline: {perMinute: {web: 1}, tag: 'v1', time: ''}});
	assert.equal(result.suggests, 'rollback');
	assert.equal(result.criteria[0]!.met, true);
	assert.match(result.criteria[0]!.text, /health failing \(http:\/\/127\.0\.0\.1:8080\/health expected 200, got 500\), 8m since the deploy: over 5m/);
	assert.equal(result.criteria[1]!.met, true);
	assert.match(result.criteria[1]!.text, /error rate above baseline in the 8m after the deploy: web 30\.\d\/min \(baseline 1\.0\/min, limit 2\.0\/min\)/);
});

test('failing for 2 minutes is not yet the runbook\'s 5; a quiet service is within its baseline', async () => {
	const result = await measureCriteria(box({deployedAgoMs: 2 * 60_000, status: 503, errorsPerMinute: 0}), loaded, {baseline: null});
	assert.equal(result.suggests, null);
	assert.equal(result.criteria[0]!.met, false);
	assert.match(result.criteria[0]!.text, /2m since the deploy: not yet 5m/);
	assert.equal(result.criteria[1]!.met, false);
	assert.match(result.criteria[1]!.text, /within baseline .* web 0\.0\/min \(no baseline, limit 2\.0\/min\)/);
});
