// A Docker Engine of the test's own, for the faults that stop, start or chmod an engine:
// other suites use the machine's dockerd (/var/run/docker.sock) all the time, so that one is
// never touched. Started the way scripts/engine-up.sh starts the main one (no bridge, no
// iptables: containers use the host network), with its own socket, data, exec root and
// pidfile under /tmp/rc-faults-XXXX; it reaches the registry on 127.0.0.1:5000 over loopback
// (127.0.0.0/8 is an insecure registry by default).
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {existsSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs';
import {chmod} from 'node:fs/promises';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';

export interface PrivateEngine {
	dir: string;
	socket: string;
	/** DOCKER_HOST for the CLI, compose and the docker CLI. */
	dockerHost: string;
	running(): boolean;
	/** Starts dockerd (again) on the same data: containers with a restart policy come back. */
	start(): Promise<void>;
	/** SIGTERM, then waits until dockerd is gone (it stops its containers first). */
	stop(): Promise<void>;
	/** SIGSTOP: dockerd stops answering mid-request (connections stay open). */
	freeze(): void;
	/** SIGCONT after freeze. */
	thaw(): void;
	/** The docker CLI against this engine. */
	docker(args: string[], input?: Buffer): string;
	/** Loads an image from the main engine (docker save | docker load). */
	loadFromMain(...images: string[]): void;
	/** Stops dockerd if running, restores the socket's mode and removes every directory. */
	destroy(): Promise<void>;
}

const mainEnv = () => {
	const env = {...process.env};
	delete env['DOCKER_HOST'];
	return env;
};

export function dockerdAvailable(): string | false {
	if (process.getuid?.() !== 0) return 'needs root to start a private dockerd';
	try {
		execFileSync('dockerd', ['--version'], {stdio: 'ignore'});
		return false;
	} catch {
		return 'dockerd is not installed';
	}
}

export async function startPrivateEngine(): Promise<PrivateEngine> {
	// Short: containerd's sockets live under the exec root and unix socket paths are ≤ 107 bytes.
	const dir = mkdtempSync('/tmp/rc-faults-');
	const socket = join(dir, 'docker.sock');
	const dockerHost = `unix://${socket}`;
	const pidfile = join(dir, 'docker.pid');
	let child: ChildProcess | null = null;

	const docker = (args: string[], input?: Buffer) =>
		execFileSync('docker', args, {env: {...process.env, DOCKER_HOST: dockerHost}, encoding: 'utf8', ...(input ? {input} : {}), maxBuffer: 256 * 1024 * 1024});
	const answers = () => {
		try {
			execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {env: {...process.env, DOCKER_HOST: dockerHost}, stdio: 'ignore', timeout: 5000});
			return true;
		} catch {
			return false;
		}
	};

	const engine: PrivateEngine = {
		dir,
		socket,
		dockerHost,
		running: () => child !== null && child.exitCode === null && child.signalCode === null,
		async start() {
			if (engine.running()) return;
			const log = openSync(join(dir, 'dockerd.log'), 'a');
			child = spawn(
				'dockerd',
				[
					'--host', dockerHost,
					'--data-root', join(dir, 'data'),
					'--exec-root', join(dir, 'exec'),
					'--pidfile', pidfile,
					'--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false',
				],
				{stdio: ['ignore', log, log]},
			);
			for (let i = 0; i < 120; i++) {
				if (!engine.running()) break;
				if (existsSync(socket) && answers()) return;
				await delay(100);
			}
			const tail = readFileSync(join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
			throw new Error(`the private dockerd did not start:\n${tail}`);
		},
		async stop() {
			const running = child;
			if (!running || !engine.running()) return;
			const exited = new Promise(resolve => running.once('exit', resolve));
			running.kill('SIGTERM');
			running.kill('SIGCONT');
			const timeout = delay(30_000).then(() => 'timeout');
			if ((await Promise.race([exited, timeout])) === 'timeout') {
				running.kill('SIGKILL');
				await exited;
			}
		},
		freeze: () => void child?.kill('SIGSTOP'),
		thaw: () => void child?.kill('SIGCONT'),
		docker,
		loadFromMain(...images) {
			const archive = execFileSync('docker', ['save', ...images], {env: mainEnv(), maxBuffer: 256 * 1024 * 1024});
			docker(['load', '-q'], archive);
		},
		async destroy() {
			await chmod(socket, 0o660).catch(() => {});
			if (engine.running()) {
				// Leave nothing of the test's behind: remove the containers before stopping.
				try {
					const ids = docker(['ps', '-aq']).trim().split('\n').filter(Boolean);
					if (ids.length > 0) docker(['rm', '-f', '-v', ...ids]);
				} catch {
					// Best effort: stopping below takes the rest down.
				}
			}
			await engine.stop();
			// A dockerd killed hard can leave overlay mounts behind: unmount before removing.
			try {
				const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map(l => l.split(' ')[1] ?? '').filter(m => m.startsWith(dir)).sort().reverse();
				for (const m of mounts) execFileSync('umount', ['-l', m], {stdio: 'ignore'});
			} catch {
				// Nothing mounted.
			}
			rmSync(dir, {recursive: true, force: true});
		},
	};
	await engine.start();
	return engine;
}
