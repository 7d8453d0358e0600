// The state dir's layout spelled once (layout.ts), and the file-lock primitive both locks use.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {createLockFile, isHeldBy, processStartTime, readLockFile, removeIfSame, staleReason} from '../../source/incident/file-lock.js';
import {incidentDir, incidentFiles, isIncidentId, newIncidentId, parseCurrentPointer, projectFiles, readCurrentPointer} from '../../source/incident/layout.js';

const dirs: string[] = [];
after(() => dirs.forEach(d => rmSync(d, {recursive: true, force: true})));
const temp = () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-layout-'));
	dirs.push(dir);
	return dir;
};

test('incident ids: new ones sort by time and match the pattern; the current pointer is validated before its id becomes a path', async () => {
	const id = newIncidentId(Date.parse('2026-11-22T03:12:09Z'));
	assert.match(id, /^20261122-031209-[0-9a-f]{4}$/);
	assert.ok(isIncidentId(id));
	for (const bad of ['../../etc', '20261122-031209-ab1', '20261122-031209-ab12/..', 42, null]) assert.equal(isIncidentId(bad), false, String(bad));
	assert.deepEqual(parseCurrentPointer(`{"incident":"${id}","openedAt":"t"}`), {incident: id, openedAt: 't'});
	assert.equal(parseCurrentPointer('{"incident":"../../../tmp"}'), null);
	assert.equal(parseCurrentPointer('not json'), null);

	const project = temp();
	assert.equal(await readCurrentPointer(project), null, 'no pointer: no open incident');
	writeFileSync(projectFiles(project).current, `{"incident":"${id}"}\n`);
	assert.deepEqual(await readCurrentPointer(project), {incident: id, openedAt: ''});
	const files = incidentFiles(incidentDir(project, id));
	assert.equal(files.timeline, path.join(project, 'incidents', id, 'timeline.jsonl'));
	assert.equal(files.bundles, path.join(project, 'incidents', id, 'bundles'));
	assert.equal(projectFiles(project).releases, path.join(project, 'releases.jsonl'));
});

test('a lock file: created once (the second gets null), holds its holder, removed only while it is the same file', async () => {
	const file = path.join(temp(), 'lock');
	const holder = {pid: process.pid, processStart: processStartTime(process.pid), host: os.hostname(), user: 'alice', since: 'now'};
	const ino = await createLockFile(file, holder, {mode: 0o644});
	assert.ok(ino !== null);
	assert.equal(await createLockFile(file, {...holder, user: 'bob'}), null, 'exclusive');
	assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), holder);
	assert.equal(statSync(file).mode & 0o777, 0o644);
	assert.equal((await readLockFile(file))?.ino, ino);
	// Replaced by someone else meanwhile: not ours to remove. (The old file is kept aside, not
	// deleted, so the filesystem cannot hand its inode number straight to the new one.)
	renameSync(file, `${file}.old`);
	writeFileSync(file, 'theirs');
	assert.equal(await removeIfSame(file, ino!), false);
	assert.equal(readFileSync(file, 'utf8'), 'theirs');
	assert.equal(await removeIfSame(file, statSync(file).ino), true);
	assert.equal(await readLockFile(file), null);
});

test('stale: a holder on this host whose process is gone, or whose pid is now another process; another host cannot be judged', () => {
	const me = {pid: process.pid, processStart: processStartTime(process.pid), host: os.hostname()};
	assert.equal(staleReason(me), null);
	assert.ok(isHeldBy(me));
	const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
	assert.equal(staleReason({...me, pid: gone, processStart: null}), `pid ${gone} is gone`);
	assert.equal(staleReason({...me, processStart: (me.processStart ?? 0) + 1}), `pid ${process.pid} is now another process`);
	assert.equal(isHeldBy({...me, processStart: (me.processStart ?? 0) + 1}), false);
	assert.equal(staleReason({...me, pid: gone, host: 'another-box'}), null);
});
