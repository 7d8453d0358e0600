// An ordinary user for the faults that need one: outside the docker group, without write
// access to a shared state dir. Created once (a system user, no home) when missing.
import {execFileSync} from 'node:child_process';
import {chownSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export const FAULT_USER = 'rc-faults';

export function ensureUser(): {uid: number; gid: number} {
	const ids = () => {
		const uid = Number(execFileSync('id', ['-u', FAULT_USER], {encoding: 'utf8'}).trim());
		const gid = Number(execFileSync('id', ['-g', FAULT_USER], {encoding: 'utf8'}).trim());
		return {uid, gid};
	};
	try {
		return ids();
	} catch {
		try {
			execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', FAULT_USER], {stdio: 'ignore'});
		} catch {
			// Created by a test file running at the same time.
		}
		return ids();
	}
}

/** A home of its own (operator settings live there), owned by the user. */
export function userHome(): string {
	const {uid, gid} = ensureUser();
	const home = mkdtempSync(join(tmpdir(), 'rc-faults-home-'));
	chownSync(home, uid, gid);
	return home;
}

/** Runs the command as the user: its own uid and gid, no supplementary groups (so not in docker). */
export const asUser = (): string[] => ['setpriv', `--reuid=${FAULT_USER}`, `--regid=${FAULT_USER}`, '--clear-groups', '--'];

export const notRoot = process.getuid?.() !== 0 ? 'needs root to become another user' : false;
