import type {Tone} from '../../presentation/format.js';

/** One line of a step's body. */
export interface Line {
	key: string;
	text: string;
	tone?: Tone;
	bold?: boolean;
	/** Wrapped rather than cut: commands that will run, warnings, paths — whatever must be read whole. */
	wrap?: boolean;
}

/** Terminal rows a line takes at `width` columns. */
export const lineRows = (line: Line, width: number): number =>
	line.wrap ? Math.max(1, Math.ceil([...line.text].length / Math.max(1, width))) : 1;
