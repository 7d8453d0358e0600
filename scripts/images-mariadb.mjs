#!/usr/bin/env node
// Builds the offline database image `local/mariadb:10.11` (Debian bookworm's MariaDB 10.11:
// mariadb-server-core and mariadb-client, without the full mariadb-server package's Galera,
// rsync and socat) with debootstrap — never Docker Hub. Two layers of cache:
//   - the root filesystem, a tarball in ~/.cache/rollback-console-images (or $XDG_CACHE_HOME) and an
//     imported image `local/mariadb-rootfs:<hash>`, keyed by the suite, packages and mirror;
//   - the image itself, labelled with the hash of the rootfs and the entrypoint, built from the
//     rootfs with a three-line Dockerfile: an edited entrypoint costs seconds, not a debootstrap.
// The first run takes about a minute (its progress goes to the log); a second is a no-op.
//
//   node scripts/images-mariadb.mjs            build when missing or stale
//
// import { ensureMariadbImage, MARIADB_IMAGE } from './images-mariadb.mjs'
// Only node builtins (plus debootstrap, installed with apt-get when missing and we are root).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLock } from './images.mjs';
import { debianMirror, debootstrapProgress, ensureDebootstrap, imageHash, run, runShowing } from './images-postgres.mjs';

export const MARIADB_IMAGE = 'local/mariadb:10.11';
const ROOTFS_REPO = 'local/mariadb-rootfs';
const HASH_LABEL = 'io.rollback-console.mariadb.hash';
const SUITE = 'bookworm';
const PACKAGES = ['mariadb-server-core', 'mariadb-client'];

// Like the official image, enough for our use: the first start initialises the datadir from
// MARIADB_*/MYSQL_* (root password, database, user with all rights on it) and runs
// /docker-entrypoint-initdb.d/*.sql; listens on
// 127.0.0.1 only (test stacks use the host network), port $MYSQL_TCP_PORT (which the mysql
// clients read too) or 3306; runs as the mysql user. Arguments starting with - go to mariadbd.
const ENTRYPOINT = `#!/bin/sh
set -e
if [ "\${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi
if [ "$1" != "mariadbd" ] && [ "$1" != "mysqld" ]; then exec "$@"; fi
shift
datadir=/var/lib/mysql
port="\${MYSQL_TCP_PORT:-3306}"
root_pw="\${MARIADB_ROOT_PASSWORD:-\${MYSQL_ROOT_PASSWORD:-}}"
allow_empty="\${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-\${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
database="\${MARIADB_DATABASE:-\${MYSQL_DATABASE:-}}"
app_user="\${MARIADB_USER:-\${MYSQL_USER:-}}"
app_pw="\${MARIADB_PASSWORD:-\${MYSQL_PASSWORD:-}}"
mkdir -p "$datadir" /run/mysqld
chown mysql:mysql "$datadir" /run/mysqld
# SQL string and identifier quoting for the values above.
str() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\\\/\\\\\\\\/g' -e "s/'/\\\\\\\\'/g")"; }
# dash's echo would read backslashes in the values as escapes.
say() { printf '%s\n' "$*"; }
ident() { printf '\`%s\`' "$(printf '%s' "$1" | sed 's/\`/\`\`/g')"; }
if [ ! -d "$datadir/mysql" ]; then
  if [ -z "$root_pw" ] && [ -z "$allow_empty" ]; then
    echo "mariadb: the datadir is empty: set MARIADB_ROOT_PASSWORD (or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD) to initialise it" >&2
    exit 1
  fi
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --skip-name-resolve \\
    --auth-root-authentication-method=normal >/dev/null
  sock=/run/mysqld/init.sock
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$sock" &
  pid=$!
  i=0
  until mariadb-admin --socket="$sock" -uroot ping >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 120 ] || { echo "mariadb: the server did not start for initialisation" >&2; exit 1; }
    sleep 0.25
  done
  {
    # As the official image: no anonymous ''@localhost (it would match the app user's socket
    # logins before its '%'), no password-less root@127.0.0.1/::1/hostname.
    say "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');"
    say "DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost'; FLUSH PRIVILEGES;"
    say "CREATE USER 'root'@'%' IDENTIFIED BY $(str "$root_pw"); GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    say "ALTER USER 'root'@'localhost' IDENTIFIED BY $(str "$root_pw");"
    if [ -n "$database" ]; then say "CREATE DATABASE IF NOT EXISTS $(ident "$database");"; fi
    if [ -n "$app_user" ]; then
      say "CREATE USER $(str "$app_user")@'%' IDENTIFIED BY $(str "$app_pw");"
      if [ -n "$database" ]; then say "GRANT ALL ON $(ident "$database").* TO $(str "$app_user")@'%';"; fi
    fi
    # As the official image: the *.sql of /docker-entrypoint-initdb.d, in the new database.
    if [ -n "$database" ]; then say "USE $(ident "$database");"; fi
    for f in /docker-entrypoint-initdb.d/*.sql; do if [ -e "$f" ]; then cat "$f"; say ";"; fi; done
  } | mariadb --socket="$sock" -uroot
  kill "$pid"; wait "$pid" || true
  echo "mariadb: initialised $datadir"
fi
exec setpriv --reuid=mysql --regid=mysql --init-groups mariadbd --datadir="$datadir" --socket=/run/mysqld/mysqld.sock \\
  --bind-address=127.0.0.1 --port="$port" --skip-name-resolve "$@"
`;

// The official image's healthcheck script, as far as `--connect` and `--innodb_initialized` go:
// both mean the server answers on its socket.
const HEALTHCHECK = `#!/bin/sh
exec mariadb-admin --socket=/run/mysqld/mysqld.sock ping --silent >/dev/null
`;

const DOCKERFILE = (base, hash) => `FROM ${base}
COPY docker-entrypoint.sh healthcheck.sh /usr/local/bin/
ENV LANG=C.UTF-8
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["mariadbd"]
LABEL ${HASH_LABEL}=${hash}
`;

const stderrLog = (line) => process.stderr.write(`${line}\n`);
const sha16 = (value) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

// Beside, not inside, the console's own cache dir: build inputs are not the tool's state.
const cacheDir = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rollback-console-images');

/** debootstrap → a root filesystem tarball with a mysql user and no docs; kept in the cache dir. */
async function buildRootfsTarball(tarball, mirror, log) {
  await ensureDebootstrap(log);
  const work = await mkdtemp(join(tmpdir(), 'rc-mariadb-rootfs-'));
  const root = join(work, 'rootfs');
  try {
    log(`mariadb rootfs: debootstrap ${SUITE} (${PACKAGES.join(', ')}) via ${mirror}; about a minute, once`);
    await runShowing('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, root, mirror], log, debootstrapProgress());
    // mariadb-server's preinst makes this user; we install only its -core.
    await run('chroot', [root, 'sh', '-c', 'groupadd -r mysql && useradd -r -g mysql -d /var/lib/mysql -s /usr/sbin/nologin mysql']);
    for (const d of ['var/lib/apt/lists', 'var/cache/apt', 'usr/share/doc', 'usr/share/man', 'usr/share/locale', 'var/lib/mysql']) {
      await rm(join(root, d), { recursive: true, force: true });
      await mkdir(join(root, d), { recursive: true });
    }
    await mkdir(join(tarball, '..'), { recursive: true });
    await run('tar', ['-C', root, '--numeric-owner', '-cf', `${tarball}.partial`, '.']);
    await rename(`${tarball}.partial`, tarball);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Makes sure local/mariadb:10.11 exists and matches its inputs; builds it (logged) when not. */
export async function ensureMariadbImage({ log = stderrLog, ref = MARIADB_IMAGE } = {}) {
  const mirror = await debianMirror();
  const rootHash = sha16({ v: 1, SUITE, PACKAGES, mirror });
  const hash = sha16({ rootHash, ENTRYPOINT, HEALTHCHECK, DOCKERFILE: DOCKERFILE('', '') });
  if ((await imageHash(ref, HASH_LABEL)) === hash) {
    log(`image ${ref}: up to date`);
    return { ref, action: 'up to date' };
  }
  // A debootstrap takes a minute or two: a lock this old may still be held, and waiting may take as long.
  return withLock('rollback-console-mariadb-image.lock', async () => {
    if ((await imageHash(ref, HASH_LABEL)) === hash) return { ref, action: 'up to date' };
    const t0 = Date.now();
    const rootfs = `${ROOTFS_REPO}:${rootHash}`;
    if ((await imageHash(rootfs, HASH_LABEL)) !== rootHash) {
      const tarball = join(cacheDir(), `mariadb-rootfs-${rootHash}.tar`);
      if (existsSync(tarball)) log(`image ${ref}: the root filesystem from the cache (${tarball})`);
      else {
        // Older tarballs (other packages or mirror) are what a newer one replaces.
        for (const f of await readdir(cacheDir()).catch(() => [])) {
          if (/^mariadb-rootfs-[0-9a-f]{16}\.tar(\.partial)?$/.test(f)) await rm(join(cacheDir(), f), { force: true });
        }
        await buildRootfsTarball(tarball, mirror, log);
      }
      log(`image ${ref}: importing the root filesystem`);
      await run('docker', ['import', '-c', `LABEL ${HASH_LABEL}=${rootHash}`, tarball, rootfs]);
    }
    const context = await mkdtemp(join(tmpdir(), 'rc-mariadb-context-'));
    try {
      await writeFile(join(context, 'docker-entrypoint.sh'), ENTRYPOINT);
      await writeFile(join(context, 'healthcheck.sh'), HEALTHCHECK);
      await chmod(join(context, 'docker-entrypoint.sh'), 0o755);
      await chmod(join(context, 'healthcheck.sh'), 0o755);
      await writeFile(join(context, 'Dockerfile'), DOCKERFILE(rootfs, hash));
      await run('docker', ['build', '--quiet', '--tag', ref, context], { env: { DOCKER_BUILDKIT: '0' } });
    } finally {
      await rm(context, { recursive: true, force: true });
    }
    log(`image ${ref}: built in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    return { ref, action: 'built' };
  }, { staleMs: 1_200_000, timeoutMs: 1_200_000, pollMs: 500 });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await ensureMariadbImage({ log: (l) => process.stdout.write(`${l}\n`) });
  } catch (e) {
    process.stderr.write(`images-mariadb: ${e.message}\n`);
    process.exit(1);
  }
}
