// The whole console (App) over a fake model, as the UI tests drive it: a frame that waits
// for what it is asked for, and keys pressed one at a time.
import {render} from 'ink-testing-library';
import {App} from '../../source/ui/app.js';
import {frameWhere, type FakeModel} from './fake-model.js';

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

export function mountApp(
	fake: FakeModel,
	options: {size: {columns: number; rows: number}; logRedrawMs?: number; cleanups: Array<() => void | Promise<void>>},
) {
	const ui = render(<App model={fake.model} size={options.size} color={false} {...(options.logRedrawMs === undefined ? {} : {logRedrawMs: options.logRedrawMs})} />);
	options.cleanups.push(async () => {
		ui.unmount();
		// Appends are queued: let them land before the directory goes.
		await (fake.model.timeline as unknown as {settled(): Promise<void>}).settled();
		fake.cleanup();
	});
	const frame = (predicate: (f: string) => boolean, timeoutMs?: number) => frameWhere(ui.lastFrame, predicate, timeoutMs);
	const press = async (keys: string, ms = 30) => {
		ui.stdin.write(keys);
		// Esc is only told from the start of an escape sequence after a short wait.
		await sleep(keys === '\u001B' ? 60 : ms);
	};
	return {ui, frame, press};
}
