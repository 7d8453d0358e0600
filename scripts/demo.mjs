#!/usr/bin/env node
// `npm run demo`: provisions the offline engine if needed, builds the releases, deploys the
// demo stack at v1.3.9 (good), then "deploys" v1.4.0 (web crash-loops), and opens the console
// on it. Idempotent: a second run redeploys v1.3.9 then v1.4.0 again.
//
//   node scripts/demo.mjs               deploy, then open the console (TTY) or print status
//   node scripts/demo.mjs --no-console  deploy only
//   node scripts/demo.mjs --good        deploy v1.3.9 only (after --reset: a healthy stack)
//   node scripts/demo.mjs --reset       remove the stack and its volume; demo/.env → .env.bak-*
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEngine } from './ensure-engine.mjs';
import { ensureReleases, ROOT } from './images.mjs';
import { ensureDbReleases } from './images-db.mjs';
import { ensurePostgresImage } from './images-postgres.mjs';

export const DEMO_REPO = '127.0.0.1:5000/rollback-console-demo/app';
export const MIGRATE_REPO = '127.0.0.1:5000/rollback-console-demo/migrate';
export const GOOD = 'v1.3.9';
export const BROKEN = 'v1.4.0';
const DEMO_DIR = join(ROOT, 'demo');
const ENV_FILE = join(DEMO_DIR, '.env');
const CLI = join(ROOT, 'dist', 'cli.js');

const say = (line) => process.stdout.write(`demo: ${line}\n`);
const fail = (line, code = 1) => {
  process.stderr.write(`demo: ${line}\n`);
  process.exit(code);
};

// demo/.env is the source of truth for IMAGE_TAG: keep the caller's environment from
// overriding it (compose prefers process env over .env) or pointing compose elsewhere.
function composeEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of ['IMAGE_TAG', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME', 'COMPOSE_PROFILES', 'COMPOSE_ENV_FILES']) delete env[k];
  return { ...env, ...extra };
}

function run(cmd, args, { env = process.env, quiet = false } = {}) {
  return new Promise((resolve) => {
    // quiet: capture for the error message; otherwise the child's output goes to our stderr.
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 2, 2] });
    let out = '';
    if (quiet) {
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
    }
    child.on('error', (e) => resolve({ code: 127, out: `${cmd}: ${e.message}` }));
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out }));
  });
}

async function compose(args, extraEnv) {
  const t0 = Date.now();
  const r = await run('docker', ['compose', '--project-directory', DEMO_DIR, ...args], { env: composeEnv(extraEnv), quiet: true });
  if (r.code !== 0) fail(`docker compose ${args.join(' ')} failed (exit ${r.code}):\n${r.out.trim().split('\n').slice(-15).join('\n')}`);
  return (Date.now() - t0) / 1000;
}

/** Sets NAME in demo/.env, keeping any other lines: temp file + rename, never in place. */
async function setEnv(name, value) {
  const old = await readFile(ENV_FILE, 'utf8').catch(() => '');
  const lines = old.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));
  let found = false;
  const pattern = new RegExp(`^\\s*(export\\s+)?${name}\\s*=`);
  const next = lines.map((l) => (pattern.test(l) ? ((found = true), `${name}=${value}`) : l));
  if (!found) next.push(`${name}=${value}`);
  const tmp = `${ENV_FILE}.tmp-${process.pid}`;
  await writeFile(tmp, `${next.join('\n')}\n`, { mode: 0o644 });
  await rename(tmp, ENV_FILE);
}

const setTag = (tag) => setEnv('IMAGE_TAG', tag);

async function envValue(name) {
  const text = await readFile(ENV_FILE, 'utf8').catch(() => '');
  return new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*(\\S+)`, 'm').exec(text)?.[1] ?? null;
}

/** Resolves true when nothing listens on 127.0.0.1:port (we could bind it ourselves). */
function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function anyFreePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A port of the demo's (web, db), checked before anything changes: the demo's own service may hold it (a re-run);
 * anything else holding it means another port, written to demo/.env so compose and the
 * health URL agree.
 */
async function choosePort(variable, fallback, service) {
  const port = Number(await envValue(variable)) || fallback;
  if (await portFree(port)) return port;
  const ours = await run('docker', ['compose', '--project-directory', DEMO_DIR, 'ps', '--status', 'running', '--services'], { env: composeEnv({ IMAGE_TAG: GOOD }), quiet: true });
  if (ours.code === 0 && ours.out.split('\n').includes(service)) return port;
  const other = await anyFreePort();
  say(`127.0.0.1:${port} is taken by another program: the demo's ${service} uses 127.0.0.1:${other} (${variable} in demo/.env)`);
  await setEnv(variable, other);
  return other;
}

async function reset() {
  const engine = await ensureEngine({ log: (l) => process.stderr.write(`${l}\n`) });
  if (!engine.ok) fail(engine.reason, 2);
  await compose(['down', '-v', '--remove-orphans', '--timeout', '5'], { IMAGE_TAG: GOOD });
  say('stack rollback-console-demo removed (containers and dbdata volume)');
  if (existsSync(ENV_FILE)) {
    const bak = `${ENV_FILE}.bak-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
    await rename(ENV_FILE, bak);
    say(`demo/.env moved to demo/${bak.split('/').at(-1)}`);
  }
}

async function deploy() {
  const t0 = Date.now();
  const engine = await ensureEngine({ log: (l) => process.stderr.write(`${l}\n`) });
  if (!engine.ok) fail(engine.reason, 2);
  say('engine ready (docker, compose v2, registry 127.0.0.1:5000)');

  await ensureReleases(DEMO_REPO, [GOOD, `${BROKEN}:broken`], { log: (l) => say(l) });
  // The database: PostgreSQL built offline from Debian's packages (the first run takes a few
  // minutes and shows its progress), and each release's migrations (dbmate).
  await ensurePostgresImage({ log: (l) => say(l) });
  await ensureDbReleases(MIGRATE_REPO, [`${GOOD}=v1`, `${BROKEN}=additive`], { log: (l) => say(l) });

  // The good release goes out through rollback-console itself, so this box's history
  // (releases.jsonl) knows v1.3.9 as verified: the last known good to roll back to.
  await build();
  const port = await choosePort('WEB_PORT', 18080, 'web');
  await choosePort('DB_PORT', 15432, 'db');
  await setTag(GOOD);
  const started = Date.now();
  const deployed = await run(process.execPath, [CLI, 'deploy', '--to', GOOD, '--yes', '--project-dir', 'demo'], { env: composeEnv(), quiet: true });
  // A re-run after --good or after a rollback finds v1.3.9 already running: that is the goal.
  if (deployed.code !== 0 && /is the current release/.test(deployed.out)) say(`${GOOD} already runs (deployed earlier by rollback-console)`);
  else if (deployed.code !== 0) fail(`rollback-console deploy --to ${GOOD} failed (exit ${deployed.code}):\n${deployed.out.trim().split('\n').slice(-10).join('\n')}`);
  else say(`deployed ${GOOD} with rollback-console deploy: web, worker and db healthy (${((Date.now() - started) / 1000).toFixed(1)}s); http://127.0.0.1:${port}/health`);
  if (goodOnly) return;

  // The bad one arrives the way bad deploys do: from elsewhere, with a plain compose up.
  await setTag(BROKEN);
  const secs = await compose(['up', '-d', '--remove-orphans']);
  say(`deployed ${BROKEN} (${secs.toFixed(1)}s): web is crash-looping with a panic; the incident is yours`);
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

async function build() {
  if (existsSync(CLI)) return;
  say('dist/cli.js missing: npm run build');
  const r = await run('npm', ['run', 'build']);
  if (r.code !== 0 || !existsSync(CLI)) fail(`npm run build failed (exit ${r.code})`);
}

async function openConsole() {
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const args = interactive ? [CLI, '--project-dir', 'demo'] : [CLI, 'status', '--project-dir', 'demo'];
  if (!interactive) say('no TTY: printing status instead of opening the console');
  // The console owns the terminal now: Ctrl-C reaches it (same process group); we just wait.
  for (const sig of ['SIGINT', 'SIGQUIT']) process.on(sig, () => {});
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  child.on('error', (e) => fail(`could not start the console: ${e.message}`));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
}

const argv = process.argv.slice(2);
const known = new Set(['--reset', '--no-console', '--good', '--help', '-h']);
const goodOnly = argv.includes('--good');
const unknown = argv.filter((a) => !known.has(a));
if (unknown.length || argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write('usage: node scripts/demo.mjs [--no-console] [--good] | --reset\n');
  process.exit(unknown.length ? 64 : 0);
}
if (argv.includes('--reset')) {
  await reset();
} else {
  await deploy();
  if (!argv.includes('--no-console')) await openConsole();
}
