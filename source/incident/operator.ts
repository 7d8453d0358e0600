import {hostname, userInfo} from 'node:os';

/** Who is at the keyboard: recorded on every timeline event and in locks. */
export interface Operator {
	user: string;
	uid: number;
	host: string;
	/** `client-ip client-port server-ip server-port` from sshd; null on a local console. */
	sshConnection: string | null;
	pid: number;
	/** The login behind `sudo` (SUDO_USER), so "root rolled back" still names a person. */
	sudoUser: string | null;
}

function userName(env: NodeJS.ProcessEnv): string {
	try {
		// Throws when the uid has no passwd entry (common in containers).
		const name = userInfo().username;
		if (name) return name;
	} catch {}
	return env['USER'] || env['LOGNAME'] || `uid-${process.getuid?.() ?? 'unknown'}`;
}

export function currentOperator(env: NodeJS.ProcessEnv = process.env): Operator {
	return {
		user: userName(env),
		uid: process.getuid?.() ?? -1,
		host: hostname(),
		sshConnection: env['SSH_CONNECTION'] || null,
		pid: process.pid,
		sudoUser: env['SUDO_USER'] || null,
	};
}

/** Whether a process with this pid exists (EPERM: it does, but belongs to someone else). */
export function processAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}
