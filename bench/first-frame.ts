// Time from typing `rollback-console` to the first full frame that names the failing
// service, in a real terminal (tmux), against a crash-looping stack (goal: median < 250 ms).
// `docker compose ps` on the same project, in the same terminal, is the yardstick; the
// single file (the release), when built, is timed beside the npm CLI. The end is
// when the frame's bytes reach tmux (its pane output, piped to a file read every 2 ms), not
// when a 25 ms capture-pane poll happens to look: that added ~15 ms to either side.
import {CLI, ROOT} from '../test/support/cli.js';
import {createStack, ensureTestReleases} from '../test/support/stack.js';
import {openTerminal} from '../test/support/tmux.js';
import {execFileSync} from 'node:child_process';
import {closeSync, mkdtempSync, openSync, readSync, rmSync, statSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {median} from './measure.js';

const runs = 7;
// The release too, when `npm run package` made it from this dist/ (bench/run.mjs does, run whole).
const built = path.join(ROOT, 'release', `rollback-console-linux-${process.arch}`);
const binary = (statSync(built, {throwIfNoEntry: false})?.mtimeMs ?? 0) >= statSync(path.join(ROOT, 'dist', 'rollback-console.mjs')).mtimeMs ? built : null;
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
	const output = path.join(stateDir, 'pane-output');
	execFileSync('tmux', ['pipe-pane', '-t', terminal.name, '-o', `cat >> ${output}`]);
	const size = () => statSync(output, {throwIfNoEntry: false})?.size ?? 0;
	/** The pane's output since `from`, escapes taken out, until `done` says yes. */
	const outputUntil = async (from: number, done: (text: string) => boolean) => {
		const file = openSync(output, 'r');
		try {
			let text = '';
			for (let at = from, started = Date.now(); ; ) {
				const chunk = Buffer.alloc(1 << 16);
				for (let n = readSync(file, chunk, 0, chunk.length, at); n > 0; n = readSync(file, chunk, 0, chunk.length, at)) {
					text += chunk.toString('utf8', 0, n);
					at += n;
				}
				if (done(text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[\]P_^][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]/g, ''))) return;
				if (Date.now() - started > 10_000) throw new Error(`the pane's output did not match within 10 s: ${text.slice(-2000)}`);
				await new Promise(resolve => setTimeout(resolve, 2));
			}
		} finally {
			closeSync(file);
		}
	};

	const time = async (command: string, done: (screen: string) => boolean, after?: () => Promise<void>) => {
		terminal.run('clear');
		await terminal.waitFor(screen => screen.trim() === '$');
		const from = size();
		const start = performance.now();
		terminal.run(command);
		await outputUntil(from, done);
		const ms = performance.now() - start;
		await after?.();
		return ms;
	};
	const frame = (launcher: string) =>
		time(
			`${launcher} --state-dir ${stateDir}`,
			text => /Checklist/.test(text) && /› web\s+(crash-looping|restarting|exited|running)/.test(text),
			async () => {
				terminal.send('q');
				// The shell's prompt back after it: the console has exited and let go of the terminal.
				await terminal.waitFor(screen => /stays open[^]*\n\$ *$/.test(screen.trimEnd()));
			},
		);
	const ours: number[] = [];
	const single: number[] = [];
	const theirs: number[] = [];
	for (let i = 0; i < runs; i++) {
		ours.push(await frame(`${process.execPath} ${CLI}`));
		if (binary) single.push(await frame(binary));
		theirs.push(await time('docker compose ps; echo PS-DONE', text => /^PS-DONE\r?$/m.test(text)));
	}
	console.log(`first full frame naming the failing service: median ${median(ours).toFixed(0)} ms over ${runs} starts  (goal < 250 ms)`);
	console.log(
		binary
			? `… the single file (the release):             median ${median(single).toFixed(0)} ms`
			: '… the single file: not measured (release/ is missing or older than dist/: npm run package)',
	);
	console.log(`docker compose ps in the same terminal:     median ${median(theirs).toFixed(0)} ms`);
	console.log(`ratio (first frame / compose ps): ${(median(ours) / median(theirs)).toFixed(2)}`);
} finally {
	terminal.kill();
	await stack.down();
	rmSync(stateDir, {recursive: true, force: true});
}
