/** Exit codes of the command-line contract (DESIGN.md). */
export const exitCodes = {
	ok: 0,
	wanting: 1,
	usage: 2,
	failedMidway: 3,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/**
 * An error the operator can act on: one sentence, shown as it is, and the exit code
 * the process ends with. Everything else is a bug and is shown with its stack.
 */
export class ConsoleError extends Error {
	constructor(
		message: string,
		readonly exitCode: ExitCode = exitCodes.usage,
	) {
		super(message);
		this.name = 'ConsoleError';
	}
}

export const isConsoleError = (error: unknown): error is ConsoleError =>
	error instanceof ConsoleError;
