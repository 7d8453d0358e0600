#!/usr/bin/env node
// Builds the fixture release image (fixtures/app) under a tag and pushes it to the local
// registry, offline: legacy builder, FROM local/busybox:latest, registry on 127.0.0.0/8 only.
//
//   node scripts/images.mjs REPO TAG[:broken] ...
//   node scripts/images.mjs 127.0.0.1:5000/rollback-console-demo/app v1.3.9 v1.4.0:broken
//
// import { buildRelease, ensureReleases } from './images.mjs'
// ensureReleases(repo, specs, {distinct: true}) labels each image with its repository: the
// one-repository-per-service fixtures (…/api, …/worker, …/web) then differ in digest.
// Only node builtins: this runs before (and without) the project's dependencies.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const APP_DIR = join(ROOT, 'fixtures', 'app');

const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

const stderrLog = (line) => process.stderr.write(`${line}\n`);

function run(cmd, args, { env, timeout = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const tail = String(stderr || stdout || error.message).trim().split('\n').slice(-8).join('\n');
        const err = new Error(`${cmd} ${args.join(' ')} failed (${error.code ?? error.signal}): ${tail}`);
        err.stderr = stderr;
        reject(err);
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Splits `127.0.0.1:5000/a/b` into the registry host and the repository name. */
export function parseRepo(repo) {
  const slash = repo.indexOf('/');
  const host = slash > 0 ? repo.slice(0, slash) : '';
  if (!host || !/[.:]/.test(host) && host !== 'localhost') {
    throw new Error(`repo ${repo}: must name a local registry, like 127.0.0.1:5000/NAME`);
  }
  const hostname = host.replace(/:\d+$/, '');
  if (!/^127(\.\d{1,3}){3}$/.test(hostname) && hostname !== 'localhost') {
    throw new Error(`repo ${repo}: registry ${host} is outside 127.0.0.0/8; only the local registry is allowed`);
  }
  return { host, name: repo.slice(slash + 1) };
}

/** Accepts 'v1.4.0', 'v1.4.0:broken' or {tag, broken}. */
export function parseSpec(spec) {
  if (typeof spec === 'string') {
    const [tag, flag] = spec.split(':');
    if (flag !== undefined && flag !== 'broken' && flag !== 'good') throw new Error(`bad release spec ${spec} (want TAG or TAG:broken)`);
    return { tag, broken: flag === 'broken' };
  }
  return { tag: spec.tag, broken: Boolean(spec.broken) };
}

let fixtureHash;
/** A hash of fixtures/app, baked in as a label, so an edited app.sh means a rebuild. */
export async function fixtureDigest() {
  if (!fixtureHash) {
    const h = createHash('sha256');
    for (const f of ['Dockerfile', 'app.sh']) h.update(f).update(await readFile(join(APP_DIR, f)));
    fixtureHash = h.digest('hex').slice(0, 16);
  }
  return fixtureHash;
}

/** The registry's digest for repo:tag, or null when it does not have the tag. */
export async function registryDigest(repo, tag) {
  const { host, name } = parseRepo(repo);
  const res = await fetch(`http://${host}/v2/${name}/manifests/${encodeURIComponent(tag)}`, {
    headers: { Accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`registry ${host}: GET manifest ${name}:${tag} → HTTP ${res.status}`);
  return res.headers.get('docker-content-digest') ?? 'present';
}

async function localImage(ref) {
  try {
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{json .}}', ref]);
    const info = JSON.parse(stdout);
    return { labels: info.Config?.Labels ?? {}, repoDigests: info.RepoDigests ?? [] };
  } catch {
    return null;
  }
}

const REPO_LABEL = 'io.rollback-console.fixture.repo';

/**
 * Builds fixtures/app as `${repo}:${tag}` (BROKEN=1 when broken) and pushes it. `distinct`
 * labels the image with its repository, so several repositories (…/api, …/worker, …/web) hold
 * different images with different digests, as real services' repositories do.
 */
export async function buildRelease({ repo, tag, broken = false, distinct = false }) {
  const { name } = parseRepo(repo);
  const ref = `${repo}:${tag}`;
  await run('docker', [
    'build', '--quiet',
    '--build-arg', `RELEASE=${tag}`,
    '--build-arg', `BROKEN=${broken ? 1 : 0}`,
    '--build-arg', `FIXTURE_HASH=${await fixtureDigest()}`,
    ...(distinct ? ['--label', `${REPO_LABEL}=${name}`] : []),
    '--tag', ref, APP_DIR,
  ], { env: { DOCKER_BUILDKIT: '0' } });
  await run('docker', ['push', ref]);
  return { ref, tag, broken };
}

/**
 * Serialises work that parallel test processes may ask for at once (building the same images):
 * a mkdir lock in the temp dir, taken over when older than `staleMs`.
 */
export async function withLock(name, fn, { staleMs = 300_000, timeoutMs = 600_000, pollMs = 250 } = {}) {
  const lock = join(tmpdir(), name);
  const started = Date.now();
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > staleMs) await rmdir(lock).catch(() => {});
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

/**
 * Makes sure each release exists locally and in the registry. Skips the build when the local
 * image is current (same fixture hash and broken flag) and skips the push when the registry's
 * digest is one of the local image's repo digests. One line per image to opts.log (stderr).
 */
export async function ensureReleases(repo, specs, { log = stderrLog, distinct = false } = {}) {
  const { name } = parseRepo(repo);
  const hash = await fixtureDigest();
  return withLock('rollback-console-images.lock', async () => {
    const results = [];
    for (const spec of specs.map(parseSpec)) {
      const ref = `${repo}:${spec.tag}`;
      const kind = spec.broken ? 'broken' : 'good';
      const t0 = Date.now();
      const local = await localImage(ref);
      const current = local
        && local.labels['io.rollback-console.fixture.hash'] === hash
        && local.labels['io.rollback-console.fixture.broken'] === (spec.broken ? '1' : '0')
        && (!distinct || local.labels[REPO_LABEL] === name);
      const remote = await registryDigest(repo, spec.tag);
      const inRegistry = remote !== null && local?.repoDigests.some((d) => d.endsWith(`@${remote}`));
      let action;
      if (current && inRegistry) action = 'up to date';
      else if (current) {
        await run('docker', ['push', ref]);
        action = 'pushed';
      } else {
        await buildRelease({ repo, tag: spec.tag, broken: spec.broken, distinct });
        action = 'built+pushed';
      }
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      log(`image ${ref} (${kind}): ${action}${action === 'up to date' ? '' : ` in ${secs}s`}`);
      results.push({ ref, ...spec, action });
    }
    return results;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [repo, ...specs] = process.argv.slice(2);
  if (!repo || specs.length === 0 || repo.startsWith('-')) {
    process.stderr.write('usage: node scripts/images.mjs REPO TAG[:broken] ...\n' +
      '  e.g. node scripts/images.mjs 127.0.0.1:5000/rollback-console-demo/app v1.3.9 v1.4.0:broken\n');
    process.exit(64);
  }
  try {
    await ensureReleases(repo, specs, { log: (l) => process.stdout.write(`${l}\n`) });
  } catch (e) {
    process.stderr.write(`images: ${e.message}\n`);
    process.exit(1);
  }
}
