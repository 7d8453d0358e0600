import type {Key} from 'ink';
import {useRef} from 'react';
import {decide, pendingScope, recordDecision, QUESTIONS, type Answer, type Answers, type Decision, type Measured, type ScopeRecord} from '../../../incident/scope.js';
import type {StepId, TimelineEvent} from '../../../incident/timeline.js';
import {errorText, printable} from '../../../presentation/text.js';
import {useLatest} from '../../kit/use-latest.js';

export type Phase = 'question' | 'note' | 'decision' | 'saving';

export interface Asking {
	phase: Phase;
	/** The question on screen (phase 'question'). */
	index: number;
	answers: Answers;
	note: string;
}

const maxNoteChars = 500;
const answerKeys: Record<string, Answer> = {y: 'yes', n: 'no', u: 'unsure'};

/** Where to start asking: after what was already answered before the console closed. */
function resume(events: readonly TimelineEvent[]): Asking {
	const {answers, note} = pendingScope(events);
	const index = QUESTIONS.findIndex(q => !answers[q.id]);
	if (index >= 0) return {phase: 'question', index, answers, note: ''};
	return {phase: note === null ? 'note' : 'decision', index: QUESTIONS.length - 1, answers, note: note ?? ''};
}

const fresh = (): Asking => ({phase: 'question', index: 0, answers: {}, note: ''});

export interface Questionnaire {
	asking: Asking | null;
	/** Takes a key while the note is typed (q and the letters are text); true when it did. */
	typeNote: (input: string, key: Key) => boolean;
	/** Takes the questionnaire's keys: c (start), y/n/u, ⌫, and in the decision enter/r/h; true when it did. */
	handle: (input: string, key: Key) => boolean;
	paste: (text: string) => void;
}

/**
 * The runbooks' four questions, a note and the decision, each recorded in the timeline as it
 * is given (so a closed console resumes where it stopped); the decision records what the
 * operator was looking at, and the step done.
 */
export function useQuestionnaire(options: {
	events: readonly TimelineEvent[];
	recorded: ScopeRecord | null;
	readOnly: boolean;
	record: (step: StepId | null, type: string, data: Record<string, unknown>) => Promise<unknown>;
	/** What the operator was looking at when deciding, for the postmortem. */
	context: () => Record<string, unknown>;
	onError: (text: string) => void;
	/** The rollback criteria as measured, which pre-fill the recommendation. */
	measured?: () => Measured | null;
}): Questionnaire {
	const {record, onError} = options;
	const initial = useRef<Asking | null | undefined>(undefined);
	if (initial.current === undefined) initial.current = options.recorded || options.readOnly ? null : resume(options.events);
	// Keys can arrive faster than redraws (a paste, a held key, a quick "yn"): handlers read
	// the latest value, so each key sees what the one before it did.
	const [asking, setAsking, ref] = useLatest<Asking | null>(initial.current);

	const fail = (error: unknown) => onError(`could not record: ${errorText(error)}`);
	const answer = (a: Asking, value: Answer) => {
		const question = QUESTIONS[a.index]!;
		void record('scope', 'scope_answer', {question: question.id, text: question.text, answer: value}).catch(fail);
		const answers = {...a.answers, [question.id]: value};
		setAsking(a.index + 1 < QUESTIONS.length ? {...a, index: a.index + 1, answers} : {...a, answers, phase: 'note'});
	};
	const finishNote = (a: Asking, keep: boolean) => {
		const note = keep ? a.note.trim() : '';
		if (note) void record('scope', 'scope_note', {text: note}).catch(fail);
		setAsking({...a, note, phase: 'decision'});
	};
	const save = async (a: Asking, chosen: Decision) => {
		setAsking({...a, phase: 'saving'});
		try {
			await recordDecision(record, a.answers, a.note, chosen, options.context(), options.measured?.() ?? null);
			setAsking(null);
		} catch (error) {
			fail(error);
			setAsking({...a, phase: 'decision'});
		}
	};
	const editNote = (change: (note: string) => string) => {
		const a = ref.current;
		if (a?.phase === 'note') setAsking({...a, note: change(a.note).slice(0, maxNoteChars)});
	};

	return {
		asking,
		paste: text => editNote(note => note + printable(text)),
		typeNote(input, key) {
			const a = ref.current;
			if (a?.phase !== 'note') return false;
			if (key.return) finishNote(a, true);
			else if (key.escape) finishNote(a, false);
			else if (key.backspace || key.delete) editNote(note => note.slice(0, -1));
			else if (!(key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow)) {
				const text = printable(input);
				if (text) editNote(note => note + text);
			}
			return true;
		},
		handle(input, key) {
			const a = ref.current;
			if (!a) {
				if (input !== 'c' || options.readOnly) return false;
				setAsking(fresh());
				return true;
			}
			if (a.phase === 'question') {
				const value = answerKeys[input.toLowerCase()];
				if (value) answer(a, value);
				else if ((key.backspace || key.delete) && a.index > 0) setAsking({...a, index: a.index - 1});
				else return false;
				return true;
			}
			if (a.phase === 'decision') {
				if (key.return) void save(a, decide(a.answers, options.measured?.() ?? null).decision);
				else if (input === 'b') void save(a, 'rollback');
				else if (input === 'h') void save(a, 'hotfix');
				else if (key.backspace || key.delete) setAsking({...a, phase: 'note'});
				else return false;
				return true;
			}
			return false;
		},
	};
}
