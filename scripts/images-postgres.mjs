#!/usr/bin/env node
// Builds the offline database image `local/postgres:15` (PostgreSQL 15 and sqlite3 from
// Debian bookworm's packages) with debootstrap, packed and `docker import`ed — never Docker
// Hub. Cached by its inputs' hash (a label on the image): a second run is a no-op. The first
// run takes a minute or two; its progress goes to the log.
//
//   node scripts/images-postgres.mjs            build when missing or stale
//
// import { ensurePostgresImage, POSTGRES_IMAGE } from './images-postgres.mjs'
// Only node builtins (plus debootstrap, installed with apt-get when missing and we are root).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLock } from './images.mjs';

export const POSTGRES_IMAGE = 'local/postgres:15';
const HASH_LABEL = 'io.rollback-console.postgres.hash';
const SUITE = 'bookworm';
const PACKAGES = ['postgresql-15', 'postgresql-client-15', 'sqlite3'];

// Like the official image: first start initialises PGDATA with POSTGRES_USER/PASSWORD/DB,
// local socket trust, host connections by password; listens on 127.0.0.1:$PGPORT only
// (test stacks use the host network).
const ENTRYPOINT = `#!/bin/sh
set -e
: "\${PGDATA:=/var/lib/postgresql/data}"
: "\${PGPORT:=5432}"
: "\${POSTGRES_USER:=postgres}"
: "\${POSTGRES_DB:=\$POSTGRES_USER}"
if [ "$1" != "postgres" ]; then exec "$@"; fi
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp); printf '%s' "\${POSTGRES_PASSWORD:-postgres}" >"$pw"; chown postgres "$pw"
  runuser -u postgres -- initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pw" \\
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
  runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p $PGPORT" -w start >/dev/null
  if [ "$POSTGRES_DB" != "postgres" ]; then
    runuser -u postgres -- psql -p "$PGPORT" -U "$POSTGRES_USER" -d postgres -qc "CREATE DATABASE \\"$POSTGRES_DB\\"" >/dev/null
  fi
  runuser -u postgres -- pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres: initialised $PGDATA"
fi
shift
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses=127.0.0.1 -p "$PGPORT" "$@"
`;

const stderrLog = (line) => process.stderr.write(`${line}\n`);

export function run(cmd, args, { timeout = 900_000, env } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, maxBuffer: 64 << 20, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) {
        const tail = String(stderr || stdout || error.message).trim().split('\n').slice(-8).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} failed (${error.code ?? error.signal}): ${tail}`));
      } else resolve(String(stdout));
    });
  });
}

/** Streams a long command's output lines to log (progress), rejecting on a non-zero exit. */
export function runShowing(cmd, args, log, filter = () => true) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = [];
    const onData = (d) => {
      for (const line of String(d).split('\n')) {
        if (!line.trim()) continue;
        tail = [...tail.slice(-7), line];
        if (filter(line)) log(`  ${line.slice(0, 160)}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${tail.join('\n')}`))));
  });
}

/**
 * A filter for debootstrap's own progress lines (I: Retrieving/Validating/Unpacking/Configuring …):
 * one in a few, so the log shows it moving without flooding.
 */
export function debootstrapProgress() {
  let n = 0;
  return (line) => /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring|Installing|Base system)/.test(line) && (n++ % 25 === 0 || /Base system|Installing core|Unpacking the base/.test(line));
}

/** The Debian mirror apt is configured with (deb822 or one-line sources), else deb.debian.org. */
export async function debianMirror() {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch(() => '');
    const deb822 = text.match(/^URIs:\s*(\S+\/debian)\s*$/m);
    if (deb822) return deb822[1];
    const line = text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+\S+/m);
    if (line) return line[1];
  }
  return 'http://deb.debian.org/debian';
}

export async function inputsHash(mirror) {
  return createHash('sha256')
    .update(JSON.stringify({ v: 1, SUITE, PACKAGES, mirror, ENTRYPOINT }))
    .digest('hex')
    .slice(0, 16);
}

/** The inputs' hash an image was built from (its label), or null when the image is not here. */
export async function imageHash(ref, label = HASH_LABEL) {
  try {
    return (await run('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, ref])).trim();
  } catch {
    return null;
  }
}

export async function ensureDebootstrap(log) {
  if (existsSync('/usr/sbin/debootstrap')) return;
  if (process.getuid?.() !== 0) throw new Error('debootstrap is not installed (apt-get install debootstrap, as root)');
  log('installing debootstrap (apt-get)');
  await run('apt-get', ['install', '-y', '-qq', 'debootstrap']).catch(async () => {
    await run('apt-get', ['update', '-qq']);
    await run('apt-get', ['install', '-y', '-qq', 'debootstrap']);
  });
}


/** Makes sure local/postgres:15 exists and matches its inputs; builds it (logged) when not. */
export async function ensurePostgresImage({ log = stderrLog, ref = POSTGRES_IMAGE } = {}) {
  const mirror = await debianMirror();
  const hash = await inputsHash(mirror);
  if ((await imageHash(ref)) === hash) {
    log(`image ${ref}: up to date`);
    return { ref, action: 'up to date' };
  }
  return withLock('rollback-console-postgres-image.lock', async () => {
    if ((await imageHash(ref)) === hash) return { ref, action: 'up to date' };
    await ensureDebootstrap(log);
    const t0 = Date.now();
    const work = await mkdtemp(join(tmpdir(), 'rc-pg-rootfs-'));
    const root = join(work, 'rootfs');
    try {
      log(`image ${ref}: building from Debian ${SUITE} (${PACKAGES.join(', ')}) via ${mirror}; about two minutes, once`);
      await runShowing('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, root, mirror], log, debootstrapProgress());
      // The package's default cluster is not used: the entrypoint initialises PGDATA itself.
      await rm(join(root, 'var/lib/postgresql/15'), { recursive: true, force: true });
      await rm(join(root, 'etc/postgresql/15'), { recursive: true, force: true });
      for (const d of ['var/lib/apt/lists', 'var/cache/apt', 'usr/share/doc', 'usr/share/man', 'usr/share/locale']) {
        await rm(join(root, d), { recursive: true, force: true });
        await mkdir(join(root, d), { recursive: true });
      }
      await writeFile(join(root, 'usr/local/bin/docker-entrypoint.sh'), ENTRYPOINT);
      await chmod(join(root, 'usr/local/bin/docker-entrypoint.sh'), 0o755);
      log(`image ${ref}: importing the root filesystem`);
      const tarball = join(work, 'rootfs.tar');
      await run('tar', ['-C', root, '--numeric-owner', '-cf', tarball, '.']);
      await run('docker', ['import',
        '-c', 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '-c', 'ENV PGDATA=/var/lib/postgresql/data',
        '-c', 'ENV LANG=C.UTF-8',
        '-c', 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
        '-c', 'CMD ["postgres"]',
        '-c', `LABEL ${HASH_LABEL}=${hash}`,
        tarball, ref]);
      const secs = ((Date.now() - t0) / 1000).toFixed(0);
      log(`image ${ref}: built in ${secs}s`);
      return { ref, action: 'built' };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    // A debootstrap takes minutes: a lock this old may still be held, and waiting may take as long.
  }, { staleMs: 1_200_000, timeoutMs: 1_200_000, pollMs: 500 });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await ensurePostgresImage({ log: (l) => process.stdout.write(`${l}\n`) });
  } catch (e) {
    process.stderr.write(`images-postgres: ${e.message}\n`);
    process.exit(1);
  }
}
