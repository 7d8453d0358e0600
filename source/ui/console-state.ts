import {CHECKLIST} from '../incident/checklist.js';
import type {StepId} from '../incident/timeline.js';

/** What the operator is looking at; the model holds what is true of the box. */
export interface ConsoleState {
	view: 'main' | 'help' | 'step';
	cursor: number;
	openStep: StepId | null;
	/** The service whose logs are shown; null: the first in the services pane. */
	service: string | null;
	allServices: boolean;
	/** Paused at this log sequence number; null while following. */
	pausedAt: number | null;
	/** Lines (that pass the filter) scrolled back from the newest shown; 0 at the end. */
	scrollBack: number;
	/** Secrets in log lines shown as they are (the operator asked, and it is recorded). */
	revealSecrets: boolean;
	timestamps: boolean;
	wrap: boolean;
	filter: string;
	editingFilter: boolean;
	/** A one-line message in the key-hint bar ("saved to …"). */
	message: string | null;
}

export const initialState: ConsoleState = {
	view: 'main',
	cursor: 0,
	openStep: null,
	service: null,
	allServices: false,
	pausedAt: null,
	scrollBack: 0,
	revealSecrets: false,
	timestamps: false,
	wrap: false,
	filter: '',
	editingFilter: false,
	message: null,
};

export type ConsoleAction =
	| {type: 'move'; by: number}
	| {type: 'open'}
	| {type: 'close'}
	| {type: 'toggle-help'}
	| {type: 'select-service'; service: string}
	| {type: 'toggle-all'}
	| {type: 'toggle-follow'; seq: number}
	| {type: 'scroll'; by: number; seq: number; max: number}
	| {type: 'scroll-to-end'}
	| {type: 'toggle-secrets'}
	| {type: 'toggle-timestamps'}
	| {type: 'toggle-wrap'}
	| {type: 'edit-filter'}
	| {type: 'filter-text'; text: string}
	| {type: 'filter-done'; keep: boolean}
	| {type: 'message'; text: string | null};

export function consoleReducer(state: ConsoleState, action: ConsoleAction): ConsoleState {
	switch (action.type) {
		case 'move': {
			const cursor = Math.min(CHECKLIST.length - 1, Math.max(0, state.cursor + action.by));
			return {...state, cursor};
		}
		case 'open':
			return {...state, view: 'step', openStep: CHECKLIST[state.cursor]!.id};
		case 'close':
			return {...state, view: 'main', openStep: null};
		case 'toggle-help':
			return {...state, view: state.view === 'help' ? (state.openStep ? 'step' : 'main') : 'help'};
		case 'select-service':
			return {...state, service: action.service, allServices: false, scrollBack: 0};
		case 'toggle-all':
			return {...state, allServices: !state.allServices, scrollBack: 0};
		case 'toggle-follow':
			return {...state, pausedAt: state.pausedAt === null ? action.seq : null, scrollBack: 0};
		case 'scroll': {
			// Scrolling back pauses where the newest line was, so arriving lines do not move the view.
			const scrollBack = Math.max(0, Math.min(action.max, state.scrollBack + action.by));
			return {...state, scrollBack, pausedAt: state.pausedAt ?? (scrollBack > 0 ? action.seq : null)};
		}
		case 'scroll-to-end':
			return {...state, scrollBack: 0, pausedAt: null};
		case 'toggle-secrets':
			return {...state, revealSecrets: !state.revealSecrets};
		case 'toggle-timestamps':
			return {...state, timestamps: !state.timestamps};
		case 'toggle-wrap':
			return {...state, wrap: !state.wrap};
		case 'edit-filter':
			return {...state, editingFilter: true};
		case 'filter-text':
			return {...state, filter: action.text, scrollBack: 0};
		case 'filter-done':
			return {...state, editingFilter: false, filter: action.keep ? state.filter : ''};
		case 'message':
			return {...state, message: action.text};
	}
}
