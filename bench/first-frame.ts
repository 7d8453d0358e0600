// Time from typing `rollback-console` to the first full frame that names the failing
// service, in a real terminal (tmux), against a crash-looping stack (goal: median < 250 ms).
// `docker compose ps` on the same project, in the same terminal, is the yardstick.
import {CLI} from '../test/support/cli.js';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {openTerminal} from '../test/support/tmux.js';
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {median} from './measure.js';

const runs = 7;
await ensureTestReleases();
const stack = await createStack({tag: 'v1.3.9'});
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rc-bench-'));
const terminal = openTerminal({columns: 120, rows: 36});
try {
	await stack.up({wait: true});
	await stack.setTag('v1.4.0');
	await stack.up();
	terminal.run(`cd ${stack.dir}`);
	await new Promise(resolve => setTimeout(resolve, 3000));

	const time = async (command: string, done: (screen: string) => boolean, after?: () => Promise<void>) => {
		terminal.run('clear');
		await terminal.waitFor(screen => screen.trim() === '$');
		const start = performance.now();
		terminal.run(command);
		await terminal.waitFor(done);
		const ms = performance.now() - start;
		await after?.();
		return ms;
	};
	const ours: number[] = [];
	const theirs: number[] = [];
	for (let i = 0; i < runs; i++) {
		ours.push(
			await time(
				`${process.execPath} ${CLI} --state-dir ${stateDir}`,
				screen => /Checklist/.test(screen) && /› web\s+(crash-looping|restarting|exited|running)/.test(screen),
				async () => {
					terminal.send('q');
					// The shell's prompt back after it: the console has exited and let go of the terminal.
					await terminal.waitFor(screen => /stays open[^]*\n\$ *$/.test(screen.trimEnd()));
				},
			),
		);
		theirs.push(await time('docker compose ps; echo PS-DONE', screen => /^PS-DONE$/m.test(screen)));
	}
	console.log(`first full frame naming the failing service: median ${median(ours).toFixed(0)} ms over ${runs} starts  (goal < 250 ms)`);
	console.log(`docker compose ps in the same terminal:     median ${median(theirs).toFixed(0)} ms`);
	console.log(`ratio (first frame / compose ps): ${(median(ours) / median(theirs)).toFixed(2)}`);
} finally {
	terminal.kill();
	await stack.down();
	rmSync(stateDir, {recursive: true, force: true});
}
