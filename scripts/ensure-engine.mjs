#!/usr/bin/env node
// Makes sure the offline Docker test environment is there: engine, `docker compose` v2 and the
// registry on 127.0.0.1:5000. When it is not, and we are root on Debian, runs
// scripts/engine-up.sh (idempotent provisioning) and checks again.
//
//   node scripts/ensure-engine.mjs       exit 0 when ready, 1 with a one-line reason otherwise
//
// import { engineReachable, ensureEngine } from './ensure-engine.mjs'
// Only node builtins.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ENGINE_UP = join(ROOT, 'scripts', 'engine-up.sh');
export const REGISTRY_URL = 'http://127.0.0.1:5000/v2/';

function check(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (error, _stdout, stderr) => {
      if (!error) resolve(null);
      else if (error.code === 'ENOENT') resolve(`${cmd} is not installed`);
      else resolve(`\`${cmd} ${args.join(' ')}\` failed: ${String(stderr || error.message).trim().split('\n').at(-1)}`);
    });
  });
}

async function checkRegistry() {
  try {
    const res = await fetch(REGISTRY_URL, { signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return res.ok ? null : `registry ${REGISTRY_URL} answered HTTP ${res.status}`;
  } catch (e) {
    return `registry ${REGISTRY_URL} unreachable (${e.cause?.code ?? e.name})`;
  }
}

/** Every problem found, empty when the engine, compose v2 and the registry all answer. */
export async function engineProblems() {
  const problems = [];
  const docker = await check('docker', ['info', '--format', '{{.ServerVersion}}']);
  if (docker) problems.push(docker);
  // Without the CLI there is no point asking for the compose plugin as well.
  if (!docker?.includes('not installed')) {
    const compose = await check('docker', ['compose', 'version']);
    if (compose) problems.push(compose);
  }
  const registry = await checkRegistry();
  if (registry) problems.push(registry);
  return problems;
}

export async function engineReachable() {
  return (await engineProblems()).length === 0;
}

function runEngineUp() {
  return new Promise((resolve) => {
    // Its output (progress on stderr, one summary line on stdout) goes to our stderr.
    const child = spawn('bash', [ENGINE_UP], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    child.on('error', (e) => resolve(`could not run bash: ${e.message}`));
    child.on('exit', (code, signal) => resolve(code === 0 ? null : `exit ${code ?? signal}`));
  });
}

/**
 * { ok: true } when the environment is ready (provisioning it first when we can),
 * otherwise { ok: false, reason } with a one-line reason.
 */
export async function ensureEngine({ log = () => {} } = {}) {
  const before = await engineProblems();
  if (before.length === 0) return { ok: true };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const isDebian = existsSync('/etc/debian_version');
  if (!isRoot || !isDebian) {
    const why = !isDebian ? 'not a Debian machine' : 'not root';
    return {
      ok: false,
      reason: `Docker test environment not ready (${before[0]}); ${why}, so run \`sudo bash scripts/engine-up.sh\` on Debian 12 or provide docker, compose v2 and a registry on 127.0.0.1:5000`,
    };
  }
  log(`engine: not ready (${before[0]}); running scripts/engine-up.sh`);
  const failed = await runEngineUp();
  const after = await engineProblems();
  if (after.length === 0) return { ok: true };
  return {
    ok: false,
    reason: `Docker test environment still not ready after scripts/engine-up.sh${failed ? ` (${failed})` : ''}: ${after.join('; ')}`,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await ensureEngine({ log: (l) => process.stderr.write(`${l}\n`) });
  if (result.ok) {
    process.stdout.write('engine: ready (docker, compose v2, registry 127.0.0.1:5000)\n');
  } else {
    process.stderr.write(`engine: ${result.reason}\n`);
    process.exitCode = 1;
  }
}
