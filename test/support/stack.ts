// Integration-test helper: throwaway Compose stacks on the real offline engine.
// Each stack gets a temp dir (copy of test/fixtures/stack/compose.yaml + .env), a unique
// project name rct-<hex> and a free 127.0.0.1 port; `down()` removes it with its volumes.
// Images come from scripts/images.mjs (built FROM local/busybox, pushed to 127.0.0.1:5000).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEMPLATE = join(ROOT, 'test', 'fixtures', 'stack', 'compose.yaml');
export const TEST_REPO = '127.0.0.1:5000/rct/app';
export const GOOD_TAGS = ['v1.3.5', 'v1.3.6', 'v1.3.7', 'v1.3.8', 'v1.3.9'] as const;
export const BROKEN_TAG = 'v1.4.0';

export interface ComposeResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Stack {
  projectName: string;
  dir: string;
  /** The values in <dir>/.env: IMAGE_TAG, WEB_PORT, COMPOSE_PROJECT_NAME (kept in sync by setTag). */
  env: Record<string, string>;
  webPort: number;
  compose(args: string[], opts?: { env?: Record<string, string>; allowFail?: boolean }): Promise<ComposeResult>;
  /** Writes IMAGE_TAG into <dir>/.env (temp file + rename). */
  setTag(tag: string): Promise<void>;
  up(opts?: { wait?: boolean }): Promise<void>;
  /** down -v --remove-orphans --timeout 2, then removes the temp dir; never throws. */
  down(): Promise<void>;
}

/** Binds 127.0.0.1:0, reads the port the kernel chose, closes. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}

type EnsureReleases = (
  repo: string,
  specs: string[],
  opts?: { log?: (line: string) => void },
) => Promise<Array<{ ref: string; tag: string; broken: boolean; action: string }>>;

let releases: Promise<void> | undefined;

/** Builds/pushes TEST_REPO v1.3.5..v1.3.9 (good) and v1.4.0 (broken) once per process. */
export function ensureTestReleases(): Promise<void> {
  releases ??= (async () => {
    // A computed specifier keeps the .mjs script out of the type checker's module graph.
    const href = pathToFileURL(join(ROOT, 'scripts', 'images.mjs')).href;
    const mod = (await import(href)) as { ensureReleases: EnsureReleases };
    await mod.ensureReleases(TEST_REPO, [...GOOD_TAGS, `${BROKEN_TAG}:broken`], {
      log: (line) => process.stderr.write(`# ${line}\n`),
    });
  })().catch((error: unknown) => {
    releases = undefined; // let a later call try again
    throw error;
  });
  return releases;
}

// Variables that would override the stack's .env (compose prefers the process environment).
const SHADOWING = ['IMAGE_TAG', 'WEB_PORT', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME', 'COMPOSE_PROFILES', 'COMPOSE_ENV_FILES'];

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SHADOWING) delete env[key];
  return { ...env, ...extra };
}

async function writeEnvFile(dir: string, env: Record<string, string>): Promise<void> {
  const file = join(dir, '.env');
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  const body = Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join('');
  await writeFile(tmp, body);
  await rename(tmp, file);
}

/** Sets one key in a dotenv file, keeping every other line. */
async function setEnvKey(dir: string, key: string, value: string): Promise<void> {
  const file = join(dir, '.env');
  const old = await readFile(file, 'utf8').catch(() => '');
  const lines = old.split('\n').filter((line) => line !== '');
  const re = new RegExp(`^\\s*(export\\s+)?${key}\\s*=`);
  let found = false;
  const next = lines.map((line) => (re.test(line) ? ((found = true), `${key}=${value}`) : line));
  if (!found) next.push(`${key}=${value}`);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  await writeFile(tmp, `${next.join('\n')}\n`);
  await rename(tmp, file);
}

function stripDb(compose: string): string {
  return compose.replace(/^[ \t]*# >>> db\n[\s\S]*?^[ \t]*# <<< db\n/gm, '');
}

export async function createStack(
  opts: { tag?: string; withDb?: boolean; extraCompose?: string } = {},
): Promise<Stack> {
  const { tag = 'v1.3.9', withDb = true, extraCompose } = opts;
  const projectName = `rct-${randomBytes(4).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), `${projectName}-`));
  const webPort = await freePort();

  let template = await readFile(TEMPLATE, 'utf8');
  if (!withDb) template = stripDb(template);
  await writeFile(join(dir, 'compose.yaml'), template);
  // Compose merges compose.override.yaml on its own when no -f is given.
  if (extraCompose) await writeFile(join(dir, 'compose.override.yaml'), extraCompose);

  const env: Record<string, string> = {
    IMAGE_TAG: tag,
    WEB_PORT: String(webPort),
    COMPOSE_PROJECT_NAME: projectName,
  };
  await writeEnvFile(dir, env);

  const compose: Stack['compose'] = async (args, copts = {}) => {
    const argv = ['compose', '--project-directory', dir, '--project-name', projectName, ...args];
    let result: ComposeResult;
    try {
      const { stdout, stderr } = await execFileAsync('docker', argv, {
        cwd: dir,
        env: childEnv(copts.env),
        maxBuffer: 64 * 1024 * 1024,
        timeout: 180_000,
      });
      result = { stdout, stderr, exitCode: 0 };
    } catch (error: unknown) {
      const e = error as { stdout?: string; stderr?: string; code?: number | string; message?: string };
      result = {
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? e.message ?? '',
        exitCode: typeof e.code === 'number' ? e.code : 1,
      };
      if (!copts.allowFail) {
        throw new Error(`docker ${argv.join(' ')} exited ${String(e.code)}: ${result.stderr.trim().split('\n').slice(-12).join('\n')}`);
      }
    }
    return result;
  };

  const stack: Stack = {
    projectName,
    dir,
    env,
    webPort,
    compose,
    async setTag(newTag) {
      await setEnvKey(dir, 'IMAGE_TAG', newTag);
      env.IMAGE_TAG = newTag;
    },
    async up(uopts = {}) {
      const args = ['up', '-d', '--remove-orphans'];
      if (uopts.wait) args.push('--wait', '--wait-timeout', '60');
      const r = await compose(args, { allowFail: true });
      if (r.exitCode !== 0) {
        const logs = await compose(['logs', '--no-color', '--tail', '20'], { allowFail: true });
        throw new Error(
          `${projectName}: docker compose ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-8).join('\n')}\n` +
            `--- last logs ---\n${logs.stdout.trim()}`,
        );
      }
    },
    async down() {
      try {
        await compose(['down', '-v', '--remove-orphans', '--timeout', '2'], { allowFail: true });
      } catch {
        // never throws
      }
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
  return stack;
}

export interface PsEntry {
  Service: string;
  State: string;
  Health?: string;
  Name?: string;
  ID?: string;
  ExitCode?: number;
  [key: string]: unknown;
}

/** Parses `docker compose ps --format json`: a JSON array (older compose) or NDJSON (newer). */
export function parsePs(stdout: string): PsEntry[] {
  const text = stdout.trim();
  if (!text) return [];
  if (text.startsWith('[')) return JSON.parse(text) as PsEntry[];
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as PsEntry);
}
