import type {Key} from 'ink';
import {useRef} from 'react';
import {useLatest} from './use-latest.js';

export interface Scroll {
	/** The first body row shown, counted from the top. */
	top: number;
	/** The largest useful `top`, which StepFrame sets as it lays the body out. */
	readonly max: {current: number};
	/** Takes PgUp/PgDn, Home/End and shift+↑↓; true when it took the key. */
	handle: (input: string, key: Key) => boolean;
	reset: () => void;
}

/** Scrolling for a step's body, so nothing a step prints is lost off the bottom at 80×24. */
export function useScroll(page = 10): Scroll {
	const [top, setTop, ref] = useLatest(0);
	const max = useRef(0);
	const to = (row: number) => setTop(Math.max(0, Math.min(max.current, row)));
	return {
		top: Math.min(top, max.current),
		max,
		reset: () => setTop(0),
		handle(_input, key) {
			const from = Math.min(ref.current, max.current);
			if (key.pageDown) to(from + page);
			else if (key.pageUp) to(from - page);
			else if (key.home) to(0);
			else if (key.end) to(max.current);
			else if (key.shift && key.downArrow) to(from + 1);
			else if (key.shift && key.upArrow) to(from - 1);
			else return false;
			return true;
		},
	};
}
