#!/usr/bin/env node
// `npm test`: builds (dist/, then the single file in release/), makes sure the real Docker
// test environment is there (provisioning it when we are root on Debian), then runs every
// suite with node's test runner.
// Without an engine the engine suites are skipped, said loudly, and — with
// ROLLBACK_CONSOLE_REQUIRE_ENGINE=1 (as .ci/run sets) — the run fails.
import {spawnSync} from 'node:child_process';
import {globSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ensureEngine} from './ensure-engine.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const say = line => process.stderr.write(`[test] ${line}\n`);
const files = patterns => patterns.flatMap(p => globSync(p, {cwd: root})).sort();

const suites = {
	unit: files(['test/unit/**/*.test.ts']),
	ui: files(['test/ui/**/*.test.ts', 'test/ui/**/*.test.tsx']),
	engine: files(['test/support/**/*.test.ts', 'test/integration/**/*.test.ts']).filter(f => !f.endsWith('integration/disk.test.ts')),
	// Run alone: it measures the bytes a prune frees with statfs, which a concurrent suite's
	// own removals would add to.
	measured: files(['test/integration/disk.test.ts']),
	// Run alone, after the rest: it times the first frame in a real terminal.
	e2e: files(['test/e2e/**/*.test.ts']),
	// Run alone, last: it stops and starts its own dockerd, fills disks and times the console.
	faults: files(['test/faults/**/*.test.ts', 'test/faults/**/*.test.tsx']),
};

function run(command, args, options = {}) {
	const result = spawnSync(command, args, {cwd: root, stdio: 'inherit', ...options});
	if (result.error) throw result.error;
	return result.status ?? 1;
}

say('building dist/ (npm run build)');
if (run(process.execPath, [path.join(root, 'scripts/build.mjs')]) !== 0) {
	say('the build failed');
	process.exit(1);
}
// The single file (release/), which test/e2e/package.test.ts runs on a view with no Node.
say('packaging the single file (npm run package)');
if (run(process.execPath, [path.join(root, 'scripts/package.mjs')]) !== 0) {
	say('packaging failed');
	process.exit(1);
}

const engine = await ensureEngine({log: say});
let skipped = null;
if (engine.ok) {
	say('engine ready: building the fixture releases (first run only)');
	const {ensureReleases} = await import('./images.mjs');
	await ensureReleases('127.0.0.1:5000/rct/app', ['v1.3.5', 'v1.3.6', 'v1.3.7', 'v1.3.8', 'v1.3.9', 'v1.4.0:broken'], {log: say});
	// The Database step's tests: PostgreSQL 15 built offline from Debian's packages (first run
	// only, a few minutes, its progress shown) and releases that migrate with dbmate.
	say('database images: local/postgres:15, local/mariadb:10.11 and the dbmate releases (first run only)');
	const {ensureDbReleases} = await import('./images-db.mjs');
	await ensureDbReleases('127.0.0.1:5000/rct/dbapp', ['v2.0.0=v1', 'v2.1.0=additive', 'v2.2.0=destructive', 'v3.0.0=v1@sqlite', 'v3.1.0=destructive@sqlite'], {log: say});
	// MariaDB (scripts/images-mariadb.mjs, about a minute once) and the @mysql releases.
	await ensureDbReleases('127.0.0.1:5000/rct/dbapp', ['v4.0.0=v1@mysql', 'v4.1.0=additive@mysql', 'v4.2.0=destructive@mysql'], {log: say});
} else {
	skipped = engine.reason;
}

const testEnv = {env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ROLLBACK_CONSOLE_PACKAGED: '1'}};
const selected = [...suites.unit, ...suites.ui, ...(engine.ok ? suites.engine : [])];
let status = run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...selected], testEnv);
if (engine.ok && suites.measured.length > 0) {
	say('disk suite (statfs before and after), alone');
	status = run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...suites.measured], testEnv) || status;
}
if (engine.ok && suites.e2e.length > 0) {
	say('end-to-end suite (a real terminal in tmux), alone');
	status = run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...suites.e2e], testEnv) || status;
}
if (engine.ok && suites.faults.length > 0) {
	say('fault-injection suite (test/faults), alone');
	status = run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', ...suites.faults], testEnv) || status;
}

if (skipped) {
	const banner = '!'.repeat(78);
	process.stderr.write(
		`\n${banner}\n!! SKIPPED: the engine suites (${suites.engine.length + suites.measured.length + suites.e2e.length + suites.faults.length} files: integration, e2e, faults)\n!! because: ${skipped}\n${banner}\n`,
	);
	if (process.env.ROLLBACK_CONSOLE_REQUIRE_ENGINE === '1') {
		say('ROLLBACK_CONSOLE_REQUIRE_ENGINE=1: a skipped engine suite is a failure');
		process.exit(1);
	}
}
process.exit(status);
