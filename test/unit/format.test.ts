import assert from 'node:assert/strict';
import {test} from 'node:test';
import {formatBytes, formatDuration, formatTable, shortId, useColor} from '../../source/presentation/format.js';

test('durations read like docker ps', () => {
	assert.equal(formatDuration(null), '-');
	assert.equal(formatDuration(9), '9s');
	assert.equal(formatDuration(61), '1m01s');
	assert.equal(formatDuration(3 * 3600 + 5 * 60), '3h05m');
	assert.equal(formatDuration(50 * 3600), '2d02h');
});

test('bytes use decimal units like docker system df', () => {
	assert.equal(formatBytes(999), '999 B');
	assert.equal(formatBytes(1500), '1.5 kB');
	assert.equal(formatBytes(25_000_000), '25 MB');
});

test('ids are shortened like docker', () => {
	assert.equal(shortId(`sha256:${'0123456789abcdef'.repeat(4)}`), '0123456789ab');
	assert.equal(shortId(null), '-');
});

test('tables align columns and colour only when asked', () => {
	const plain = formatTable(['A', 'LONGER'], [['xyz', '1'], ['q', '22']]);
	assert.equal(plain, 'A    LONGER\nxyz  1\nq    22');
	const coloured = formatTable(['A', 'B'], [['x', 'y']], {color: true, tones: [['bad', undefined]]});
	assert.match(coloured, /\u001B\[31mx\u001B\[39m/);
});

test('colour is off for pipes, NO_COLOR and --no-color', () => {
	assert.equal(useColor({isTTY: true}, {}, true), true);
	assert.equal(useColor({isTTY: false}, {}, true), false);
	assert.equal(useColor({isTTY: true}, {NO_COLOR: '1'}, true), false);
	assert.equal(useColor({isTTY: true}, {}, false), false);
});
