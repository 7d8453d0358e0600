import assert from 'node:assert/strict';
import {test} from 'node:test';
import {CHECKLIST} from '../../source/incident/checklist.js';
import {consoleReducer, initialState, type ConsoleAction, type ConsoleState} from '../../source/ui/console-state.js';

const run = (...actions: ConsoleAction[]): ConsoleState => actions.reduce(consoleReducer, initialState);

test('the checklist cursor stays on the list, and opening takes the step under it', () => {
	assert.equal(run({type: 'move', by: -3}).cursor, 0);
	assert.equal(run({type: 'move', by: 99}).cursor, CHECKLIST.length - 1);
	const open = run({type: 'move', by: 2}, {type: 'open'});
	assert.deepEqual([open.view, open.openStep], ['step', CHECKLIST[2]!.id]);
	const closed = consoleReducer(open, {type: 'close'});
	assert.deepEqual([closed.view, closed.openStep, closed.cursor], ['main', null, 2]);
});

test('help opens over the checklist or a step and goes back to where it was', () => {
	assert.equal(run({type: 'toggle-help'}).view, 'help');
	assert.equal(run({type: 'toggle-help'}, {type: 'toggle-help'}).view, 'main');
	assert.equal(run({type: 'open'}, {type: 'toggle-help'}, {type: 'toggle-help'}).view, 'step');
});

test('scrolling back pauses at the newest line, stays within the lines there are, and the end follows again', () => {
	const back = run({type: 'scroll', by: 5, seq: 100, max: 3});
	assert.deepEqual([back.scrollBack, back.pausedAt], [3, 100]);
	// Scrolling further keeps the first pause point.
	assert.equal(consoleReducer(back, {type: 'scroll', by: -1, seq: 140, max: 3}).pausedAt, 100);
	assert.deepEqual([run({type: 'scroll', by: -5, seq: 100, max: 3}).scrollBack, run({type: 'scroll', by: -5, seq: 100, max: 3}).pausedAt], [0, null]);
	const end = consoleReducer(back, {type: 'scroll-to-end'});
	assert.deepEqual([end.scrollBack, end.pausedAt], [0, null]);
	const paused = run({type: 'toggle-follow', seq: 42});
	assert.equal(paused.pausedAt, 42);
	assert.equal(consoleReducer(paused, {type: 'toggle-follow', seq: 50}).pausedAt, null);
});

test('choosing what the logs show starts them at the newest line', () => {
	const scrolled = run({type: 'scroll', by: 2, seq: 10, max: 10});
	const chosen = consoleReducer(scrolled, {type: 'select-service', service: 'web'});
	assert.deepEqual([chosen.service, chosen.allServices, chosen.scrollBack], ['web', false, 0]);
	const all = consoleReducer(chosen, {type: 'toggle-all'});
	assert.deepEqual([all.allServices, all.scrollBack], [true, 0]);
	assert.equal(consoleReducer(all, {type: 'select-service', service: 'db'}).allServices, false, 'picking one service leaves "all"');
});

test('the filter: typed text filters from the newest line; esc drops it, enter keeps it', () => {
	const typing = run({type: 'edit-filter'}, {type: 'scroll', by: 2, seq: 1, max: 5}, {type: 'filter-text', text: 'panic'});
	assert.deepEqual([typing.editingFilter, typing.filter, typing.scrollBack], [true, 'panic', 0]);
	assert.deepEqual([consoleReducer(typing, {type: 'filter-done', keep: true}).filter, consoleReducer(typing, {type: 'filter-done', keep: true}).editingFilter], ['panic', false]);
	assert.equal(consoleReducer(typing, {type: 'filter-done', keep: false}).filter, '');
});

test('toggles and the message', () => {
	const s = run({type: 'toggle-secrets'}, {type: 'toggle-timestamps'}, {type: 'toggle-wrap'}, {type: 'message', text: 'saved'});
	assert.deepEqual([s.revealSecrets, s.timestamps, s.wrap, s.message], [true, true, true, 'saved']);
	assert.equal(consoleReducer(s, {type: 'message', text: null}).message, null);
	assert.equal(initialState.revealSecrets, false, 'secrets are masked until asked');
});
