// What step output may put on the screen: the same redaction as the bundle, no control characters.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {safeText} from '../../source/ui/kit/safe-text.js';
import {runLines} from '../../source/ui/steps/stabilise/stabilise-lines.js';

test('safe text: secrets masked unless revealed, escape sequences and control characters dropped, tabs as spaces', () => {
	const line = '\u001B]0;owned\u0007connecting to postgres://app:hunter2@127.0.0.1:5432/app\tAuthorization: Bearer abc.def.ghi \u001B[2J';
	const shown = safeText(line);
	assert.ok(!/[\u0000-\u001F\u007F-\u009F]/.test(shown), 'no control character');
	assert.ok(!shown.includes('hunter2') && !shown.includes('abc.def.ghi'), shown);
	assert.match(shown, /postgres:\/\/app:\*\*\*@127\.0\.0\.1/);
	assert.match(safeText(line, {reveal: true}), /hunter2/);
	assert.match(safeText('acct-123456 paid', {patterns: ['acct-\\d{6}']}), /^\*\*\* paid$/);
});

test('the rollback worker\'s output and a failing service\'s last lines are shown safe', () => {
	const lines = runLines(
		{
			runId: 'r1',
			kind: 'rollback',
			from: 'v1.4.0',
			to: 'v1.3.9',
			running: false,
			pid: null,
			output: '» pull\nusing DATABASE_URL=postgres://app:s3cret@127.0.0.1/app \u001B[31mred\u001B[0m\n',
			result: null,
		},
		false,
		20,
	);
	const text = lines.map(l => l.text).join('\n');
	assert.ok(!text.includes('s3cret'), text);
	assert.ok(!text.includes('\u001B'), 'no escape reaches the screen');
});
