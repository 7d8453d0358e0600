import type {Key} from 'ink';
import {printable} from '../../presentation/text.js';
import {useLatest} from './use-latest.js';

export interface TypedConfirmation<T> {
	/** What is being confirmed, and what was typed so far; null when nothing is asked. */
	asking: {subject: T; expected: string; typed: string} | null;
	ask: (subject: T, expected: string) => void;
	cancel: () => void;
	/**
	 * Takes a key while asking: letters (q included) are text, backspace deletes, esc cancels,
	 * enter answers. Returns true when it took the key. `onAnswer` gets whether the text typed
	 * is the expected one, exactly.
	 */
	handle: (input: string, key: Key, onAnswer: (subject: T, confirmed: boolean, typed: string) => void) => boolean;
}

/** A typed confirmation: the operator types the named thing back before a destructive action. */
export function useTypedConfirmation<T>(maxLength = 128): TypedConfirmation<T> {
	const [asking, setAsking, ref] = useLatest<TypedConfirmation<T>['asking']>(null);
	return {
		asking,
		ask: (subject, expected) => setAsking({subject, expected, typed: ''}),
		cancel: () => setAsking(null),
		handle(input, key, onAnswer) {
			const current = ref.current;
			if (!current) return false;
			if (key.escape) {
				setAsking(null);
				return true;
			}
			if (key.return) {
				setAsking(null);
				onAnswer(current.subject, current.typed.trim() === current.expected, current.typed);
				return true;
			}
			if (key.backspace || key.delete) {
				setAsking({...current, typed: current.typed.slice(0, -1)});
				return true;
			}
			if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.tab) return true;
			const text = printable(input);
			if (text) setAsking({...current, typed: (current.typed + text).slice(0, maxLength)});
			return true;
		},
	};
}
