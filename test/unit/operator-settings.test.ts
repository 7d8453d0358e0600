import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {ConsoleError} from '../../source/errors.js';
import {readOperatorSettings} from '../../source/incident/operator-settings.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-conf-'));
after(() => rmSync(dir, {recursive: true, force: true}));

test('defaults when the operator has no settings file', async () => {
	assert.deepEqual(await readOperatorSettings({cwd: path.join(dir, 'none')}), {logBufferLines: 5000, logTailLines: 200});
});

test('the buffer size is configurable', async () => {
	const cwd = path.join(dir, 'set');
	await readOperatorSettings({cwd});
	writeFileSync(path.join(cwd, 'config.json'), JSON.stringify({logBufferLines: 20000}));
	assert.equal((await readOperatorSettings({cwd})).logBufferLines, 20000);
});

test('a bad value is one line naming the key and the file', async () => {
	const cwd = path.join(dir, 'bad');
	await readOperatorSettings({cwd});
	writeFileSync(path.join(cwd, 'config.json'), JSON.stringify({logBufferLines: 'lots'}));
	await assert.rejects(readOperatorSettings({cwd}), (error: unknown) =>
		error instanceof ConsoleError && /config\.json: logBufferLines must be a whole number from 100 to 1000000, got "lots"/.test(error.message),
	);
});
