import {render} from 'ink';
import {constants} from 'node:os';
import {useEffect, useState} from 'react';
import {exitCodes, type ExitCode} from '../errors.js';
import {App} from './app.js';
import type {ConsoleModel} from './console-model.js';

// Test-only faults for the fault suite (test/faults), read here and nowhere else: an exception
// thrown while rendering, or a promise rejected with no handler, a second after the first frame.
const testFault = process.env['ROLLBACK_CONSOLE_TEST_FAULT'];

function TestFault({kind}: {kind: string}) {
	const [armed, setArmed] = useState(false);
	useEffect(() => {
		const timer = setTimeout(() => {
			if (kind === 'unhandled-rejection') void Promise.reject(new Error('test fault: unhandled rejection'));
			else setArmed(true);
		}, 1000);
		return () => clearTimeout(timer);
	}, []);
	if (armed && kind === 'render-throw') throw new Error('test fault: thrown while rendering');
	return null;
}

/**
 * Renders the console until the operator quits, and leaves the terminal as it found it on
 * every way out: q, Ctrl+C, SIGTERM, SIGHUP (the SSH session dropped) or a thrown error.
 * Ink restores raw mode, the cursor and the main screen when it unmounts.
 */
export async function renderConsole(model: ConsoleModel, {color}: {color: boolean}): Promise<ExitCode | number> {
	const app = (
		<>
			<App model={model} color={color} />
			{testFault ? <TestFault kind={testFault} /> : null}
		</>
	);
	const instance = render(app, {
		exitOnCtrlC: false,
		// A flood redraws the logs pane at most every 100 ms by itself (useThrottledVersion), so
		// Ink's own throttle mostly delays keys: at 20 fps a key waited up to 50 ms for its frame.
		maxFps: 60,
		// Ink turns itself off under CI=true; a real TTY was checked before we got here.
		interactive: true,
		alternateScreen: true,
		incrementalRendering: true,
	});
	let code: number = exitCodes.ok;
	let failure: unknown;
	let signalled = false;
	const onSignal = (signal: NodeJS.Signals) => {
		signalled = true;
		model.sessionEnd ??= {by: signal};
		code = 128 + (constants.signals[signal] ?? 0);
		instance.unmount();
	};
	const onCrash = (error: unknown) => {
		model.sessionEnd ??= {by: 'error', error: (error as Error)?.message ?? String(error)};
		failure = error;
		code = exitCodes.failedMidway;
		instance.unmount();
	};
	// After SIGHUP the terminal is gone: writes fail with EIO, which must not crash the restore.
	const onStdoutError = () => {};
	process.stdout.on('error', onStdoutError);
	// Ink's signal-exit re-raises the signal to die by it: a
	// listener of ours stays on until the process exits, so that second signal cannot kill us
	// before the way out is recorded (the fault suite's terminal test checks it).
	const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
	const keepAlive = () => {};
	for (const signal of signals) process.on(signal, onSignal).on(signal, keepAlive);
	process.once('uncaughtException', onCrash);
	process.once('unhandledRejection', onCrash);
	try {
		await instance.waitUntilExit();
	} catch (error) {
		model.sessionEnd ??= {by: 'error', error: (error as Error)?.message ?? String(error)};
		failure = error;
		code = exitCodes.failedMidway;
	} finally {
		for (const signal of signals) {
			process.off(signal, onSignal);
			if (!signalled) process.off(signal, keepAlive);
		}
		process.off('uncaughtException', onCrash);
		process.off('unhandledRejection', onCrash);
	}
	if (failure) process.stderr.write(`rollback-console: the console stopped on an error: ${(failure as Error)?.stack ?? String(failure)}\n`);
	else if (code === exitCodes.ok) {
		const closed = model.timeline.events().some(e => e.type === 'incident_closed');
		process.stdout.write(closed ? `Incident ${model.incident.id} is closed (report.md and its bundle are in ${model.incident.dir}).\n` : `Incident ${model.incident.id} stays open: run rollback-console again to resume it.\n`);
	}
	return code;
}
