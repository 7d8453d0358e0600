// Integration-test helper for the Database step: a Compose stack with a real PostgreSQL 15
// (local/postgres:15, built offline from Debian's packages), a real MariaDB 10.11
// (local/mariadb:10.11, likewise) or a SQLite file in a volume, and an app whose releases
// apply their migrations with dbmate (test/fixtures/db, test/fixtures/db-mysql). Host network,
// 127.0.0.1 and a free port only; unique project name; `down -v` after.
import {execFile} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {appendFile, copyFile, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {promisify} from 'node:util';
import {freePort, ROOT} from './stack.js';

const execFileAsync = promisify(execFile);

export const DB_REPO = '127.0.0.1:5000/rct/dbapp';
/** v2.0.0 ships 001+002; v2.1.0 adds 003 (additive); v2.2.0 adds 004 (destructive) instead. SQLite: v3.x. */
export const DB_SPECS = ['v2.0.0=v1', 'v2.1.0=additive', 'v2.2.0=destructive', 'v3.0.0=v1@sqlite', 'v3.1.0=destructive@sqlite'];
/** The same sets in MySQL's dialect, applied to MariaDB: v4.0.0 (001+002), v4.1.0 (+003 additive), v4.2.0 (+004 destructive). */
export const DB_MYSQL_SPECS = ['v4.0.0=v1@mysql', 'v4.1.0=additive@mysql', 'v4.2.0=destructive@mysql'];

/** The dbmate releases of `specs` (and the database images they need), built once per process. */
const built = new Map<string, Promise<void>>();
function ensureReleases(specs: string[]): Promise<void> {
	const key = specs.join(' ');
	let pending = built.get(key);
	if (!pending) {
		pending = (async () => {
			const mod = (await import(pathToFileURL(join(ROOT, 'scripts', 'images-db.mjs')).href)) as {
				ensureDbReleases(repo: string, specs: string[], o?: {log?: (l: string) => void}): Promise<void>;
			};
			await mod.ensureDbReleases(DB_REPO, specs, {log: line => process.stderr.write(`# ${line}\n`)});
		})();
		built.set(key, pending);
	}
	return pending;
}

/** local/mariadb:10.11 (built offline, cached) and the @mysql releases. */
export const ensureMysqlImages = () => ensureReleases(DB_MYSQL_SPECS);

export const MARIADB_IMAGE = 'local/mariadb:10.11';
export const MYSQL_ROOT_PASSWORD = 'root-pw';

export const ensureDbImages = () => ensureReleases(DB_SPECS);

export interface DbStack {
	project: string;
	dir: string;
	stateDir: string;
	port: number;
	compose(args: string[], allowFail?: boolean): Promise<{stdout: string; stderr: string; exitCode: number}>;
	/** Sets IMAGE_TAG and brings the stack up, waiting for health (the app's: its migrations applied). */
	deploy(tag: string): Promise<void>;
	psql(sql: string): Promise<string>;
	/** The database service's name (db; for `odd` MySQL stacks, store or warehouse). */
	dbService: string;
	/** MySQL stacks: runs SQL as root on the app database, tab-separated rows without headers. */
	mysql(sql: string): Promise<string>;
	down(): Promise<void>;
}

export interface DbStackOptions {
	extension?: string;
	/**
	 * MySQL, named so the image does not say what it is:
	 * - `environment`: service `store`, image `acme/db:10.11` (a tag of local/mariadb:10.11),
	 *   MYSQL_* instead of MARIADB_*: its environment says it;
	 * - `binaries`: service `warehouse`, image `acme/dbbin:10.11` (local/mariadb:10.11 with its
	 *   datadir initialised at build time, root by unix socket), no environment, no healthcheck
	 *   the detection knows: only the mariadbd binary in it says it.
	 */
	odd?: 'environment' | 'binaries';
}

export type DbKind = 'postgres' | 'sqlite' | 'mysql';

const mysqlService = (odd: DbStackOptions['odd']) => (odd === 'environment' ? 'store' : odd === 'binaries' ? 'warehouse' : 'db');

/** acme/dbbin:10.11: the datadir made at build time (the variables only in that RUN), root logging in by unix socket. */
async function buildBinariesOnlyImage(): Promise<void> {
	const context = await mkdtemp(join(tmpdir(), 'rct-dbbin-'));
	try {
		await writeFile(join(context, 'socket-root.sql'), "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket;\n");
		await writeFile(
			join(context, 'Dockerfile'),
			`FROM ${MARIADB_IMAGE}\nCOPY socket-root.sql /docker-entrypoint-initdb.d/\nRUN MARIADB_ROOT_PASSWORD=build-only MARIADB_DATABASE=app MARIADB_USER=app MARIADB_PASSWORD=pw docker-entrypoint.sh mariadbd --version\n`,
		);
		await execFileAsync('docker', ['build', '--quiet', '--tag', 'acme/dbbin:10.11', context], {env: {...process.env, DOCKER_BUILDKIT: '0'}});
	} finally {
		await rm(context, {recursive: true, force: true});
	}
}

function mysqlYaml(port: number, extension: string, odd: DbStackOptions['odd'], app: (url: string, volume: string) => string): string {
	const service = mysqlService(odd);
	const prefix = odd ? 'MYSQL' : 'MARIADB';
	// What the kinds differ in: the image, how it is configured, and its health check.
	const binaries = odd === 'binaries';
	const image = binaries ? 'acme/dbbin:10.11' : odd ? 'acme/db:10.11' : MARIADB_IMAGE;
	const setup = binaries
		? `    command: ["--port=${port}"]`
		: `    environment:
      ${prefix}_ROOT_PASSWORD: ${MYSQL_ROOT_PASSWORD}
      ${prefix}_DATABASE: app
      ${prefix}_USER: app
      ${prefix}_PASSWORD: pw
      MYSQL_TCP_PORT: "${port}"`;
	const check = binaries
		? '["CMD-SHELL", "test -S /run/mysqld/mysqld.sock"]'
		: odd
			? '["CMD-SHELL", "mariadb-admin ping --silent"]'
			: '["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]';
	return `x-rollback-console:${extension || ' {}'}
services:
  ${service}:
    image: ${image}
    pull_policy: never
    network_mode: host
${setup}
    healthcheck:
      test: ${check}
      interval: 1s
      retries: 90
    volumes:
      - dbdata:/var/lib/mysql
${app(`mysql://app:pw@127.0.0.1:${port}/app`, `    depends_on:\n      ${service}: {condition: service_healthy}\n`)}
volumes:
  dbdata: {}
`;
}

function composeYaml(kind: DbKind, port: number, extension: string, odd?: DbStackOptions['odd']): string {
	const app = (url: string, volume: string) => `
  app:
    image: ${DB_REPO}:\${IMAGE_TAG}
    network_mode: host
    environment:
      DATABASE_URL: "${url}"
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 60
${volume}`;
	if (kind === 'mysql') return mysqlYaml(port, extension, odd, app);
	if (kind === 'sqlite') {
		return `x-rollback-console:${extension || ' {}'}
services:${app('sqlite:/data/app.db', '    volumes:\n      - appdata:/data\n')}
volumes:
  appdata: {}
`;
	}
	return `x-rollback-console:${extension || ' {}'}
services:
  db:
    image: local/postgres:15
    pull_policy: never
    network_mode: host
    stop_signal: SIGINT
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: pw
      POSTGRES_DB: app
      PGPORT: "${port}"
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "app", "-p", "${port}"]
      interval: 1s
      retries: 60
    volumes:
      - pgdata:/var/lib/postgresql/data
${app(`postgres://app:pw@127.0.0.1:${port}/app?sslmode=disable`, '    depends_on:\n      db: {condition: service_healthy}\n')}
volumes:
  pgdata: {}
`;
}

export async function createDbStack(kind: DbKind, {extension = '', odd}: DbStackOptions = {}): Promise<DbStack> {
	const project = `rct-db-${randomBytes(4).toString('hex')}`;
	const dir = await mkdtemp(join(tmpdir(), `${project}-`));
	const stateDir = join(dir, 'state');
	const port = await freePort();
	if (kind === 'mysql' && odd === 'environment') await execFileAsync('docker', ['tag', MARIADB_IMAGE, 'acme/db:10.11']);
	if (kind === 'mysql' && odd === 'binaries') await buildBinariesOnlyImage();
	await writeFile(join(dir, 'compose.yaml'), composeYaml(kind, port, extension, odd));
	const dbService = kind === 'mysql' ? mysqlService(odd) : 'db';
	let tag = 'v0';
	const env = () => {
		const e: NodeJS.ProcessEnv = {...process.env, IMAGE_TAG: tag};
		delete e['COMPOSE_FILE'];
		delete e['COMPOSE_PROJECT_NAME'];
		return e;
	};
	const compose: DbStack['compose'] = async (args, allowFail = false) => {
		try {
			const {stdout, stderr} = await execFileAsync('docker', ['compose', '--project-directory', dir, '-p', project, ...args], {env: env(), maxBuffer: 16 << 20, timeout: 180_000});
			return {stdout, stderr, exitCode: 0};
		} catch (error) {
			const e = error as {stdout?: string; stderr?: string; code?: number};
			if (!allowFail) throw new Error(`compose ${args.join(' ')}: ${e.stderr ?? ''}`);
			return {stdout: e.stdout ?? '', stderr: e.stderr ?? '', exitCode: e.code ?? 1};
		}
	};
	const stack: DbStack = {
		project,
		dir,
		stateDir,
		port,
		dbService,
		compose,
		async deploy(next) {
			tag = next;
			await writeFile(join(dir, '.env'), `IMAGE_TAG=${next}\nCOMPOSE_PROJECT_NAME=${project}\n`);
			const r = await compose(['up', '-d', '--wait', '--wait-timeout', '90'], true);
			if (r.exitCode !== 0) {
				const logs = await compose(['logs', '--no-color', '--tail', '20'], true);
				throw new Error(`${project}: up ${next} failed: ${r.stderr}\n${logs.stdout}`);
			}
		},
		async psql(sql) {
			const {stdout} = await execFileAsync('docker', ['exec', `${project}-db-1`, 'psql', '-X', '-A', '-t', '-U', 'app', '-d', 'app', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
			return stdout.trim();
		},
		async mysql(sql) {
			const {stdout} = await execFileAsync('docker', ['exec', '-e', `MYSQL_PWD=${MYSQL_ROOT_PASSWORD}`, `${project}-${dbService}-1`, 'mariadb', '-N', '-B', '-u', 'root', 'app', '-e', sql]);
			return stdout.trim();
		},
		async down() {
			await compose(['down', '-v', '--remove-orphans', '--timeout', '2'], true);
			await rm(dir, {recursive: true, force: true}).catch(() => {});
		},
	};
	return stack;
}

/** The stack's project in its state dir, the backups there, and backups.log's entries. */
export const projectState = (stack: DbStack) => join(stack.stateDir, stack.project);
export const backupsDir = (stack: DbStack) => join(projectState(stack), 'backups');
export const logLines = async (stack: DbStack) =>
	(await readFile(join(backupsDir(stack), 'backups.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(l => JSON.parse(l) as Record<string, any>);

/** releases.jsonl with these records, a minute apart, the last a minute ago. */
export async function writeReleases(stack: DbStack, records: Array<{tag: string; event: string; migrationHead: string | null}>): Promise<void> {
	await mkdir(projectState(stack), {recursive: true});
	const lines = records.map((r, i) => JSON.stringify({time: new Date(Date.now() - (records.length - i) * 60_000).toISOString(), digests: {}, imageIds: {}, operator: null, ...r}));
	await writeFile(join(projectState(stack), 'releases.jsonl'), `${lines.join('\n')}\n`);
}

/**
 * A backup made by hand, recorded in backups.log as a copy of `like` (its sidecar too, when it
 * has one): its sha256 the bytes' own (the checksum passes) unless `withSha` says otherwise.
 */
export async function recordBackup(stack: DbStack, like: Record<string, any>, file: string, content: Buffer | string, withSha?: string): Promise<void> {
	const bytes = typeof content === 'string' ? Buffer.from(content) : content;
	const path = join(backupsDir(stack), file);
	await writeFile(path, bytes, {mode: 0o600});
	if (existsSync(`${like['path']}.json`)) await copyFile(`${like['path']}.json`, `${path}.json`);
	const sha256 = withSha ?? createHash('sha256').update(bytes).digest('hex');
	await appendFile(join(backupsDir(stack), 'backups.log'), `${JSON.stringify({...like, path, bytes: bytes.length, sha256, time: new Date().toISOString()})}\n`);
}
