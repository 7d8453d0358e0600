import {useRef, useState} from 'react';

/**
 * State whose latest value key handlers can read at once: keys arrive faster than React
 * re-renders (a paste, a fast typist), so a handler reading the rendered value would act on
 * a stale one. Returns the rendered value, a setter, and a ref that every set advances.
 */
export function useLatest<T>(initial: T): [T, (next: T | ((previous: T) => T)) => void, {readonly current: T}] {
	const [value, setValue] = useState(initial);
	const ref = useRef(initial);
	const set = (next: T | ((previous: T) => T)) => {
		ref.current = typeof next === 'function' ? (next as (previous: T) => T)(ref.current) : next;
		setValue(ref.current);
	};
	return [value, set, ref];
}
