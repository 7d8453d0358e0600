// ROLLBACK_CONSOLE_TRACE=1: when each phase of a command ended, in ms since the process
// started, with the CPU spent so far (on stderr). How the performance notes were measured.
const tracing = process.env['ROLLBACK_CONSOLE_TRACE'] === '1';

export function trace(phase: string): void {
	if (!tracing) return;
	const cpu = process.cpuUsage();
	process.stderr.write(`[trace] ${phase} ${performance.now().toFixed(0)} ms (cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)\n`);
}
