import {useCallback, useEffect, useRef, useState} from 'react';
import {errorText} from '../../presentation/text.js';

export interface Loaded<T> {
	value: T | null;
	loading: boolean;
	/** Why the last load failed, one line; null when it did not. */
	error: string | null;
	/** Loads again, aborting a load still running. */
	reload: () => void;
}

/**
 * Runs `load` when the step opens (and on `reload`), aborting the previous run, and when the
 * step closes. A late answer from an aborted run never overwrites a newer one. The last good
 * value stays while a reload runs, so the screen does not blank.
 */
export function useAbortableLoad<T>(load: ((signal: AbortSignal) => Promise<T>) | null, deps: readonly unknown[] = []): Loaded<T> {
	const [state, setState] = useState<Omit<Loaded<T>, 'reload'>>({value: null, loading: Boolean(load), error: null});
	const controller = useRef<AbortController | null>(null);
	const reload = useCallback(() => {
		controller.current?.abort();
		if (!load) return;
		const current = new AbortController();
		controller.current = current;
		setState(s => ({...s, loading: true, error: null}));
		load(current.signal).then(
			value => !current.signal.aborted && setState({value, loading: false, error: null}),
			(error: unknown) => !current.signal.aborted && setState(s => ({...s, loading: false, error: errorText(error)})),
		);
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, deps);
	useEffect(() => {
		reload();
		return () => controller.current?.abort();
	}, [reload]);
	return {...state, reload};
}
