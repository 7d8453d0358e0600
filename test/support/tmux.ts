// Drives a real terminal: a detached tmux session running bash, with send-keys and capture-pane.
import {execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';

export interface Terminal {
	name: string;
	send(...keys: string[]): void;
	/** Types a command line and presses Enter. */
	run(command: string): void;
	screen(): string;
	waitFor(predicate: (screen: string) => boolean, timeoutMs?: number): Promise<string>;
	kill(): void;
}

const tmux = (...args: string[]) => execFileSync('tmux', args, {encoding: 'utf8'});

export function openTerminal({columns = 120, rows = 36, env = {}}: {columns?: number; rows?: number; env?: Record<string, string>} = {}): Terminal {
	const name = `rct-${randomBytes(4).toString('hex')}`;
	const exports = Object.entries(env).map(([key, value]) => `export ${key}='${value.replaceAll("'", `'\\''`)}';`).join(' ');
	tmux('new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), 'bash', '--norc', '--noprofile');
	tmux('set-option', '-t', name, 'status', 'off');
	const terminal: Terminal = {
		name,
		send: (...keys) => void tmux('send-keys', '-t', name, ...keys),
		// One tmux call: the line and its Enter arrive together.
		run: command => void tmux('send-keys', '-t', name, '-l', command, ';', 'send-keys', '-t', name, 'Enter'),
		screen: () => tmux('capture-pane', '-p', '-t', name),
		async waitFor(predicate, timeoutMs = 10_000) {
			const start = Date.now();
			for (;;) {
				const screen = terminal.screen();
				if (predicate(screen)) return screen;
				if (Date.now() - start > timeoutMs) throw new Error(`screen did not match within ${timeoutMs} ms:\n${screen}`);
				await new Promise(resolve => setTimeout(resolve, 25));
			}
		},
		kill() {
			try {
				tmux('kill-session', '-t', name);
			} catch {
				// Already gone.
			}
		},
	};
	if (exports) terminal.run(exports);
	terminal.run("PS1='$ '; clear");
	return terminal;
}
