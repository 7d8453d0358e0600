// Issue 13, item 5: Scope answers the runbook's "when to roll back" by measurement, shows the
// figures, pre-fills the recommendation from them, and the operator can still overrule it.
import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';
import type {RollbackCriteria} from '../../source/incident/verify/criteria.js';
import type {VerifyModel} from '../../source/ui/steps/verify/verify-model.js';
import {fakeModel, serviceRow, type FakeModel} from '../support/fake-model.js';
import {mountApp} from '../support/mount-app.js';

const size = {columns: 100, rows: 40};
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
	while (cleanups.length) await cleanups.pop()!();
});

const measured: RollbackCriteria = {
	deployAt: '2026-11-22T02:52:00.000Z',
	criteria: [
		{id: 'health', met: true, text: 'health failing (http://127.0.0.1:8080/health expected 200, got 500), 8m since the deploy: over 5m'},
		{id: 'errors', met: false, text: 'error rate within baseline in the 8m after the deploy: web 0.5/min (baseline 0.4/min, limit 2.0/min)'},
	],
	suggests: 'rollback',
};

function verifyModel(criteria: RollbackCriteria): VerifyModel {
	return {
		current: () => null,
		subscribe: () => () => {},
		running: () => false,
		start: async () => null,
		stop: () => {},
		criteria: async () => criteria,
		plan: {windowMs: 300_000, tries: 12, intervalMs: 10_000, checks: []},
	};
}

async function scope(criteria: RollbackCriteria) {
	const fake: FakeModel = await fakeModel({services: [serviceRow('web', {state: 'crash-looping', restartCount: 4, exitCode: 2, ok: false}), serviceRow('worker')]});
	fake.model.verify = verifyModel(criteria);
	const {frame, press} = mountApp(fake, {size, cleanups});
	await frame(f => f.includes('Checklist'));
	await press('\r');
	await frame(f => f.includes('Step 1 · Scope'));
	return {fake, frame, press};
}

async function answerAndSkipNote(frame: (p: (f: string) => boolean) => Promise<string>, press: (k: string) => Promise<void>, keys: string) {
	await press('c');
	for (const [i, key] of [...keys].entries()) {
		await frame(f => f.includes(`${i + 1}/4 `));
		await press(key);
	}
	await frame(f => f.includes('Scope note'));
	await press('\u001B');
}

test('measured criteria with their figures pre-fill the recommendation; accepted, they are recorded with it', async () => {
	const {fake, frame, press} = await scope(measured);
	const shown = (await frame(f => f.includes('When to roll back, measured: ROLL BACK'))).replace(/ *│\n│ */g, ' ');
	assert.match(shown, /✗ health failing \(http:\/\/127\.0\.0\.1:8080\/health expected 200, got 500\), 8m since the deploy: over 5m/);
	assert.match(shown, /✓ error rate within baseline in the 8m after the deploy: web 0\.5\/min/);
	// "A fix in under 30 minutes" would say hotfix; the measurement says roll back.
	await answerAndSkipNote(frame, press, 'ynny');
	const decision = (await frame(f => f.includes('Recommendation: ROLL BACK'))).replace(/ *│\n│ */g, ' ');
	assert.match(decision, /· Measured: health failing \(http:\/\/127\.0\.0\.1:8080\/health expected 200, got 500\)/);
	await press('\r');
	for (let i = 0; i < 50 && !fake.model.timeline.events().some(e => e.type === 'scope_decision'); i++) await new Promise(r => setTimeout(r, 20));
	const event = fake.model.timeline.events().find(e => e.type === 'scope_decision')!;
	assert.equal(event.data['decision'], 'rollback');
	assert.equal(event.data['recommended'], 'rollback');
	assert.equal(event.data['overridden'], false);
	assert.deepEqual((event.data['measured'] as RollbackCriteria).criteria.map(c => c.met), [true, false]);
});

test('the operator can overrule the measurement, and that is recorded', async () => {
	const {fake, frame, press} = await scope(measured);
	await frame(f => f.includes('When to roll back, measured: ROLL BACK'));
	await answerAndSkipNote(frame, press, 'ynny');
	await frame(f => f.includes('Recommendation: ROLL BACK'));
	await press('h');
	for (let i = 0; i < 50 && !fake.model.timeline.events().some(e => e.type === 'scope_decision'); i++) await new Promise(r => setTimeout(r, 20));
	const event = fake.model.timeline.events().find(e => e.type === 'scope_decision')!;
	assert.equal(event.data['decision'], 'hotfix');
	assert.equal(event.data['recommended'], 'rollback');
	assert.equal(event.data['overridden'], true);
	assert.match(String((event.data['reasons'] as string[])[0]), /Operator chose a hotfix over the recommended rollback/);
});

test('no criterion met: the questions decide as before', async () => {
	const {frame, press} = await scope({...measured, criteria: measured.criteria.map(c => ({...c, met: false, text: c.id === 'health' ? 'health passing (1 URL, 2 release services up)' : c.text})), suggests: null});
	await frame(f => f.includes('When to roll back, measured: no criterion met'));
	await answerAndSkipNote(frame, press, 'ynny');
	await frame(f => f.includes('Recommendation: HOTFIX'));
});
