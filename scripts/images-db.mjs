#!/usr/bin/env node
// Builds the Database step's fixture releases (test/fixtures/db): an app that applies its
// migrations with dbmate on start. Offline: FROM local/busybox (or local/postgres:15 for a
// SQLite app, which needs sqlite3), legacy builder, pushed to the registry on 127.0.0.0/8.
// `@mysql` releases apply the MySQL dialect of the same sets (test/fixtures/db-mysql) and
// make sure local/mariadb:10.11 (their database, scripts/images-mariadb.mjs) is built.
// The dbmate binary comes from the npm package @dbmate/linux-x64 (statically linked).
//
//   node scripts/images-db.mjs REPO TAG=SET[@sqlite|@mysql] ...
//   node scripts/images-db.mjs 127.0.0.1:5000/rct/dbapp v2.0.0=v1 v2.1.0=additive v2.2.0=destructive
//
// import { ensureDbReleases } from './images-db.mjs'
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRepo, registryDigest, ROOT } from './images.mjs';
import { ensurePostgresImage, POSTGRES_IMAGE } from './images-postgres.mjs';
import { ensureMariadbImage } from './images-mariadb.mjs';

export const DB_FIXTURE = join(ROOT, 'test', 'fixtures', 'db');
/** The MySQL dialect of the migration sets (varchar keys, DROP INDEX … ON), copied into the context as mysql/. */
export const DB_MYSQL_FIXTURE = join(ROOT, 'test', 'fixtures', 'db-mysql');

function run(cmd, args, { env, timeout = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')} failed (${error.code ?? error.signal}): ${String(stderr || stdout).trim().split('\n').slice(-6).join('\n')}`));
      else resolve(String(stdout));
    });
  });
}

export function dbmateBinary() {
  const require = createRequire(join(ROOT, 'package.json'));
  return join(require.resolve('@dbmate/linux-x64/package.json'), '..', 'bin', 'dbmate');
}

async function fixtureHash(extraDir = null) {
  const h = createHash('sha256');
  const walk = async (dir, top) => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, top);
      else h.update(path.slice(top.length)).update(await readFile(path));
    }
  };
  await walk(DB_FIXTURE, DB_FIXTURE);
  h.update(await readFile(dbmateBinary()));
  if (extraDir) await walk(extraDir, join(extraDir, '..'));
  return h.digest('hex').slice(0, 16);
}

/** 'v2.1.0=additive', 'v2.1.0=additive@sqlite' or 'v4.1.0=additive@mysql' → {tag, set, sqlite, mysql}. */
export function parseDbSpec(spec) {
  if (typeof spec !== 'string') return spec;
  const m = /^([A-Za-z0-9_.-]+)=([a-z0-9-]+)(@sqlite|@mysql)?$/.exec(spec);
  if (!m) throw new Error(`bad spec ${spec} (want TAG=SET, TAG=SET@sqlite or TAG=SET@mysql)`);
  return { tag: m[1], set: m[2], sqlite: m[3] === '@sqlite', mysql: m[3] === '@mysql' };
}

async function labelHash(ref) {
  try {
    return (await run('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "io.rollback-console.fixture.hash"}}|{{json .RepoDigests}}', ref])).trim();
  } catch {
    return null;
  }
}

/** Makes sure each release is built (when its inputs changed) and in the registry. */
export async function ensureDbReleases(repo, specs, { log = (l) => process.stderr.write(`${l}\n`) } = {}) {
  parseRepo(repo);
  const parsed = specs.map(parseDbSpec);
  if (parsed.some((s) => s.sqlite)) await ensurePostgresImage({ log });
  if (parsed.some((s) => s.mysql)) await ensureMariadbImage({ log });
  const hash = await fixtureHash();
  const mysqlHash = parsed.some((s) => s.mysql) ? await fixtureHash(DB_MYSQL_FIXTURE) : null;
  let context = null;
  try {
    for (const spec of parsed) {
      const ref = `${repo}:${spec.tag}`;
      const want = spec.mysql ? `${mysqlHash}-${spec.set}-mysql` : `${hash}-${spec.set}${spec.sqlite ? '-sqlite' : ''}`;
      const seen = await labelHash(ref);
      const [label, digests] = seen ? [seen.slice(0, seen.indexOf('|')), seen.slice(seen.indexOf('|') + 1)] : [null, '[]'];
      if (label === want) {
        const remote = await registryDigest(repo, spec.tag);
        if (remote && digests.includes(remote)) {
          log(`image ${ref} (${spec.set}): up to date`);
          continue;
        }
        await run('docker', ['push', ref]);
        log(`image ${ref} (${spec.set}): pushed`);
        continue;
      }
      if (!context) {
        context = await mkdtemp(join(tmpdir(), 'rc-db-fixture-'));
        await cp(DB_FIXTURE, context, { recursive: true });
        await cp(dbmateBinary(), join(context, 'dbmate'));
        await cp(DB_MYSQL_FIXTURE, join(context, 'mysql'), { recursive: true });
      }
      const t0 = Date.now();
      await run('docker', [
        'build', '--quiet',
        '--build-arg', `BASE=${spec.sqlite ? POSTGRES_IMAGE : 'local/busybox:latest'}`,
        '--build-arg', `SET=${spec.mysql ? `mysql/${spec.set}` : spec.set}`,
        '--build-arg', `RELEASE=${spec.tag}`,
        '--build-arg', `REVISION=${createHash('sha1').update(spec.tag).digest('hex')}`,
        '--build-arg', `FIXTURE_HASH=${want}`,
        '--tag', ref, context,
      ], { env: { DOCKER_BUILDKIT: '0' } });
      await run('docker', ['push', ref]);
      log(`image ${ref} (${spec.set}${spec.sqlite ? ', sqlite' : spec.mysql ? ', mysql' : ''}): built+pushed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
  } finally {
    if (context) await rm(context, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [repo, ...specs] = process.argv.slice(2);
  if (!repo || specs.length === 0) {
    process.stderr.write('usage: node scripts/images-db.mjs REPO TAG=SET[@sqlite|@mysql] ...\n');
    process.exit(64);
  }
  try {
    await ensureDbReleases(repo, specs, { log: (l) => process.stdout.write(`${l}\n`) });
  } catch (e) {
    process.stderr.write(`images-db: ${e.message}\n`);
    process.exit(1);
  }
}
