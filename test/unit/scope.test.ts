import assert from 'node:assert/strict';
import {test} from 'node:test';
import {
	answersSummary,
	decide,
	decisionData,
	NEXT_STEPS,
	pendingScope,
	QUESTION_IDS,
	QUESTIONS,
	scopeRecord,
	type Answers,
} from '../../source/incident/scope.js';
import type {TimelineEvent} from '../../source/incident/timeline.js';

const all = (answers: Answers): Answers => ({'previous-stable': 'yes', migration: 'no', security: 'no', 'quick-fix': 'no', ...answers});

test('four questions, in the runbooks\' order, each with a help line', () => {
	assert.deepEqual(
		QUESTIONS.map(q => q.id),
		[...QUESTION_IDS],
	);
	assert.deepEqual(QUESTION_IDS, ['previous-stable', 'migration', 'security', 'quick-fix']);
	for (const q of QUESTIONS) {
		assert.match(q.text, /\?$/);
		assert.ok(q.help.length > 10 && q.help.length <= 72, q.help);
	}
	assert.match(QUESTIONS[3]!.text, /30 minutes/);
});

test('any unsure answer → roll back, naming what was unsure', () => {
	const result = decide(all({'quick-fix': 'unsure'}));
	assert.equal(result.decision, 'rollback');
	assert.deepEqual(result.reasons, ['When unsure, roll back (unsure: fix < 30 min).']);
	// Unsure wins even over a fix that would otherwise be quick.
	assert.equal(decide(all({security: 'unsure', 'quick-fix': 'yes'})).decision, 'rollback');
});

test('unsure about a migration → roll back, and the Database step checks first', () => {
	const result = decide(all({migration: 'unsure', 'quick-fix': 'yes'}));
	assert.equal(result.decision, 'rollback');
	assert.equal(result.reasons.length, 2);
	assert.match(result.reasons[0]!, /When unsure, roll back \(unsure: migration since\)/);
	assert.match(result.reasons[1]!, /may have run since: step 4 Database checks it first/);
});

test('unanswered questions count as unsure', () => {
	const result = decide({'previous-stable': 'yes'});
	assert.equal(result.decision, 'rollback');
	assert.match(result.reasons[0]!, /unsure: migration since, security issue, fix < 30 min/);
});

test('previous version not stable → hotfix (roll forward)', () => {
	// Even when unsure about the rest: there is nothing good to roll back to.
	for (const rest of [{}, {security: 'yes'}, {migration: 'yes'}, {'quick-fix': 'no'}, {security: 'unsure', 'quick-fix': 'unsure'}] as Answers[]) {
		const result = decide(all({'previous-stable': 'no', ...rest}));
		assert.equal(result.decision, 'hotfix');
		assert.match(result.reasons[0]!, /no good release to return to/);
	}
});

test('a security issue introduced by the deploy → roll back, even when a fix is quick', () => {
	const result = decide(all({security: 'yes', 'quick-fix': 'yes'}));
	assert.equal(result.decision, 'rollback');
	assert.deepEqual(result.reasons, ['This deploy introduced a security issue: take it out of production now.']);
});

test('a security issue and a migration → roll back, Database step first', () => {
	const result = decide(all({security: 'yes', migration: 'yes'}));
	assert.equal(result.decision, 'rollback');
	assert.equal(result.reasons.length, 2);
	assert.match(result.reasons[1]!, /A migration was applied since: step 4 Database checks it first/);
});

test('a migration applied since → roll back, but the Database step must check it first', () => {
	const result = decide(all({migration: 'yes', 'quick-fix': 'yes'}));
	assert.equal(result.decision, 'rollback');
	assert.ok(result.reasons.some(r => /step 4 Database checks it first/.test(r)), result.reasons.join('\n'));
});

test('a fix in under 30 minutes → hotfix', () => {
	const result = decide(all({'quick-fix': 'yes'}));
	assert.equal(result.decision, 'hotfix');
	assert.match(result.reasons[0]!, /under 30 minutes/);
});

test('every reason fits an 80-column terminal', () => {
	const answers: Answers[] = [all({}), all({'quick-fix': 'yes'}), all({'previous-stable': 'no'}), all({security: 'yes', migration: 'yes'}), all({migration: 'unsure'})];
	for (const reason of answers.flatMap(a => decide(a).reasons)) assert.ok(reason.length <= 72, reason);
});

test('otherwise → roll back', () => {
	const result = decide(all({}));
	assert.equal(result.decision, 'rollback');
	assert.match(result.reasons[0]!, /No fix within 30 minutes/);
	assert.equal(result.reasons.length, 1, 'no migration caveat when there was none');
});

test('decisionData: accepting the recommendation is not an override', () => {
	const data = decisionData(all({'quick-fix': 'yes'}), 'checkout 500s since 02:40', 'hotfix');
	assert.equal(data.decision, 'hotfix');
	assert.equal(data.recommended, 'hotfix');
	assert.equal(data.overridden, false);
	assert.equal(data.note, 'checkout 500s since 02:40');
	assert.deepEqual(data.reasons, decide(all({'quick-fix': 'yes'})).reasons);
});

test('decisionData: an override says so first and keeps the recommendation\'s reasons', () => {
	const data = decisionData(all({}), '', 'hotfix');
	assert.equal(data.decision, 'hotfix');
	assert.equal(data.recommended, 'rollback');
	assert.equal(data.overridden, true);
	assert.equal(data.reasons[0], 'Operator chose a hotfix over the recommended rollback.');
	assert.match(data.reasons[1]!, /No fix within 30 minutes/);
	assert.equal(decisionData(all({'quick-fix': 'yes'}), '', 'rollback').reasons[0], 'Operator chose a rollback over the recommended hotfix.');
});

const event = (seq: number, type: string, data: Record<string, unknown>, time = `2026-11-22T03:0${seq}:00.000Z`): TimelineEvent => ({
	time,
	seq,
	operator: {user: 'alice', ssh: null, pid: 1},
	step: 'scope',
	type,
	data,
});

test('scopeRecord: null when nothing was decided', () => {
	assert.equal(scopeRecord([]), null);
	assert.equal(scopeRecord([event(1, 'scope_answer', {question: 'security', answer: 'no'}), event(2, 'step_status', {status: 'in-progress'})]), null);
});

test('scopeRecord: the latest decision wins, with its time, answers and note', () => {
	const events = [
		event(1, 'scope_decision', {decision: 'hotfix', reasons: ['a'], answers: {security: 'no'}, note: 'first', overridden: false}),
		event(2, 'scope_answer', {question: 'security', answer: 'yes'}),
		event(3, 'scope_decision', {decision: 'rollback', reasons: ['b', 7], answers: {security: 'yes', bogus: 'yes', migration: 'maybe'}, note: 'second', overridden: true}),
		event(4, 'step_status', {status: 'done'}),
	];
	assert.deepEqual(scopeRecord(events), {
		decision: 'rollback',
		reasons: ['b'],
		answers: {security: 'yes'},
		note: 'second',
		overridden: true,
		time: '2026-11-22T03:03:00.000Z',
		user: 'alice',
	});
});

test('scopeRecord: a malformed decision is skipped for the one before it', () => {
	const events = [
		event(1, 'scope_decision', {decision: 'hotfix', reasons: 'not a list', answers: null}),
		event(2, 'scope_decision', {decision: 'yolo'}),
	];
	assert.deepEqual(scopeRecord(events), {
		decision: 'hotfix',
		reasons: [],
		answers: {},
		note: '',
		overridden: false,
		time: '2026-11-22T03:01:00.000Z',
		user: 'alice',
	});
});

test('answersSummary and next steps read as the runbooks say', () => {
	assert.equal(answersSummary(all({migration: 'unsure'})), 'previous stable: yes · migration since: unsure · security issue: no · fix < 30 min: no');
	assert.equal(answersSummary({}), '');
	assert.equal(NEXT_STEPS.rollback, 'Next: 2 Capture evidence, then 3 Stabilise');
	assert.equal(NEXT_STEPS.hotfix, 'Next: 2 Capture evidence; ship the fix, then 6 Verify');
});

test('pendingScope: answers and note since the last decision, the latest answer winning', () => {
	assert.deepEqual(pendingScope([]), {answers: {}, note: null});
	const events = [
		event(1, 'scope_answer', {question: 'security', answer: 'yes'}),
		event(2, 'scope_note', {text: 'old'}),
		event(3, 'scope_decision', {decision: 'rollback', reasons: []}),
		event(4, 'scope_answer', {question: 'previous-stable', answer: 'yes'}),
		event(5, 'scope_answer', {question: 'migration', answer: 'no'}),
		event(6, 'scope_answer', {question: 'migration', answer: 'unsure'}),
		event(7, 'scope_answer', {question: 'bogus', answer: 'yes'}),
	];
	assert.deepEqual(pendingScope(events), {answers: {'previous-stable': 'yes', migration: 'unsure'}, note: null});
	assert.deepEqual(pendingScope([...events, event(8, 'scope_note', {text: 'checkout 500s'})]).note, 'checkout 500s');
});
