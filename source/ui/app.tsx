import {Box, useApp, useInput, useStdin, useWindowSize} from 'ink';
import {useEffect} from 'react';
import {CHECKLIST} from '../incident/checklist.js';
import {beginStep} from '../incident/incident-store.js';
import {scopeRecord} from '../incident/scope.js';
import {Checklist} from './components/checklist.js';
import {Header} from './components/header.js';
import {HelpOverlay} from './components/help-overlay.js';
import {KeyHint} from './components/key-hint.js';
import {LogsPane, visibleLines} from './components/logs-pane.js';
import {ServicesPane} from './components/services-pane.js';
import {StepPanel} from './components/step-panel.js';
import type {ConsoleModel} from './console-model.js';
import {consoleReducer, initialState, type ConsoleAction} from './console-state.js';
import {useNow} from './hooks/use-now.js';
import {useServices} from './hooks/use-services.js';
import {useTimeline} from './hooks/use-timeline.js';
import {useLatest} from './kit/use-latest.js';
import {PendingStep} from './steps/pending-step.js';
import {stepView, waitsFor} from './steps/index.js';
import {ColorContext} from './theme.js';

export interface AppProps {
	model: ConsoleModel;
	color?: boolean;
	/** Fixed size for tests; the terminal's otherwise. */
	size?: {columns: number; rows: number};
	logRedrawMs?: number;
}

const checklistWidth = 26;

export function App({model, color = true, size, logRedrawMs}: AppProps) {
	const {exit} = useApp();
	const {isRawModeSupported} = useStdin();
	const windowSize = useWindowSize();
	const {columns, rows} = size ?? windowSize;
	// Keys can arrive faster than React re-renders (a paste, a fast typist): handlers read
	// the state through `current`, which each dispatch advances at once.
	const [state, setState, current] = useLatest(initialState);
	const dispatch = (action: ConsoleAction) => setState(previous => consoleReducer(previous, action));
	const snapshot = useServices(model);
	const timeline = useTimeline(model);
	const now = useNow();
	const StepView = state.openStep ? stepView(state.openStep) : null;

	const serviceNames = snapshot.services.map(s => s.service);
	const selected = state.service && serviceNames.includes(state.service) ? state.service : (serviceNames[0] ?? null);
	const logServices = state.allServices ? [...serviceNames].sort() : selected ? [selected] : [];

	// Layout: header, body (checklist | services over logs), step panel, key hint. The whole
	// frame stays one row short of the terminal so Ink never scrolls it.
	// A message (a saved file's path) wraps rather than losing its end: the body gives up the rows.
	const hintRows = state.message ? Math.min(3, Math.max(1, Math.ceil([...state.message].length / Math.max(1, columns)))) : 1;
	const bodyRows = Math.max(8, rows - 1 - 1 - 2 - hintRows);
	const rightColumns = Math.max(20, columns - checklistWidth);
	const serviceRows = Math.min(serviceNames.length || 1, Math.max(2, Math.floor(bodyRows / 3)));
	const servicesHeight = serviceRows + 4 + (serviceNames.length > serviceRows ? 1 : 0);
	const filterRow = state.editingFilter || state.filter ? 1 : 0;
	const logRows = Math.max(1, bodyRows - servicesHeight - 3 - filterRow);
	const logColumns = Math.max(10, rightColumns - 4);

	// Opening a step that can run starts it, as its headless command does (read-only records nothing).
	useEffect(() => {
		if (!model.readOnly && state.openStep && !waitsFor(state.openStep)) {
			void beginStep({append: timeline.record, events: () => timeline.events}, state.openStep).catch(() => {});
		}
	}, [state.openStep]);

	const redactPatterns = model.settings.redact?.patterns;
	const logView = (view: typeof state) => ({...view, services: logServices, rows: logRows, columns: logColumns, ...(redactPatterns ? {redactPatterns} : {})});
	const scrollLogs = (by: number) => {
		const {maxScrollBack} = visibleLines(model.logs, logView(current.current));
		dispatch({type: 'scroll', by, seq: model.logs.seq, max: maxScrollBack});
	};
	const toggleSecrets = () => {
		const reveal = !current.current.revealSecrets;
		dispatch({type: 'toggle-secrets'});
		// Who saw secrets on screen, and when, belongs in the record.
		if (!model.readOnly) void timeline.record(null, reveal ? 'secrets_revealed' : 'secrets_hidden', {where: 'logs pane'});
	};

	const saveVisible = async () => {
		const {lines} = visibleLines(model.logs, logView(state));
		const name = `logs/${state.allServices ? 'all' : (selected ?? 'none')}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}.log`;
		try {
			const file = await model.saveFile(name, lines.map(l => `${l.line.time ?? ''} ${l.line.service} ${l.line.stream} ${l.line.text}`).join('\n') + '\n');
			dispatch({type: 'message', text: `saved ${lines.length} lines to ${file}`});
		} catch (error) {
			dispatch({type: 'message', text: `could not save: ${(error as Error).message}`});
		}
	};

	// How the session ended goes in the timeline (console_closed): the first reason wins.
	const quit = (by: 'q' | 'ctrl-c' = 'q') => {
		model.sessionEnd ??= {by};
		exit();
	};

	// Ctrl+C quits from anywhere, even while a step is taking typed input.
	useInput(
		(input, key) => {
			if (key.ctrl && input === 'c') quit('ctrl-c');
		},
		{isActive: isRawModeSupported},
	);

	useInput(
		(input, key) => {
			const state = current.current;
			if (state.message) dispatch({type: 'message', text: null});
			if (state.editingFilter) {
				if (key.return) dispatch({type: 'filter-done', keep: true});
				else if (key.escape) dispatch({type: 'filter-done', keep: false});
				else if (key.backspace || key.delete) dispatch({type: 'filter-text', text: state.filter.slice(0, -1)});
				else if (input && !key.ctrl && !key.meta) dispatch({type: 'filter-text', text: state.filter + input});
				return;
			}
			if (input === '?') return dispatch({type: 'toggle-help'});
			if (input === 'q') return quit();
			if (state.view === 'help') {
				if (key.escape) dispatch({type: 'toggle-help'});
				return;
			}
			if (state.view === 'step') {
				if (key.escape) dispatch({type: 'close'});
				return;
			}
			if (key.upArrow || input === 'k') return dispatch({type: 'move', by: -1});
			if (key.downArrow || input === 'j') return dispatch({type: 'move', by: 1});
			if (key.return) return dispatch({type: 'open'});
			if (key.tab && serviceNames.length > 0) {
				const next = (serviceNames.indexOf(selected ?? '') + (key.shift ? -1 : 1) + serviceNames.length) % serviceNames.length;
				return dispatch({type: 'select-service', service: serviceNames[next]!});
			}
			if (/^[1-9]$/.test(input)) {
				const service = serviceNames[Number(input) - 1];
				if (service) dispatch({type: 'select-service', service});
				return;
			}
			if (key.pageUp) return scrollLogs(logRows - 1);
			if (key.pageDown) return scrollLogs(-(logRows - 1));
			if (key.home) return scrollLogs(Number.MAX_SAFE_INTEGER);
			if (key.end) return dispatch({type: 'scroll-to-end'});
			if (state.filter && input === 'n') return scrollLogs(1);
			if (state.filter && input === 'N') return scrollLogs(-1);
			if (input === 'u') return toggleSecrets();
			if (input === 'a') return dispatch({type: 'toggle-all'});
			if (input === 'f') return dispatch({type: 'toggle-follow', seq: model.logs.seq});
			if (input === 't') return dispatch({type: 'toggle-timestamps'});
			if (input === 'w') return dispatch({type: 'toggle-wrap'});
			if (input === '/') return dispatch({type: 'edit-filter'});
			if (input === 's') return void saveVisible();
		},
		// An open step that runs takes the keyboard; a pending one leaves esc to us.
		{isActive: isRawModeSupported && !(state.view === 'step' && StepView)},
	);

	const step = CHECKLIST[state.cursor]!;
	let body;
	if (state.view === 'help') {
		body = <HelpOverlay readOnly={model.readOnly} />;
	} else if (state.view === 'step' && StepView) {
		body = (
			<StepView
				model={model}
				snapshot={snapshot}
				record={timeline.record}
				events={timeline.events}
				rows={bodyRows}
				columns={columns}
				active={isRawModeSupported}
				onClose={() => dispatch({type: 'close'})}
				onQuit={() => quit()}
			/>
		);
	} else if (state.view === 'step') {
		body = <PendingStep step={state.openStep!} rows={bodyRows} columns={columns} />;
	} else {
		body = (
			<Box flexDirection="row" height={bodyRows}>
				<Checklist cursor={state.cursor} statuses={timeline.statuses} width={checklistWidth} />
				<Box flexDirection="column" width={rightColumns}>
					<ServicesPane snapshot={snapshot} now={now} selected={selected} allServices={state.allServices} rows={serviceRows} width={rightColumns - 4} />
					<LogsPane
						store={model.logs}
						services={logServices}
						allServices={state.allServices}
						pausedAt={state.pausedAt}
						scrollBack={state.scrollBack}
						revealSecrets={state.revealSecrets}
						{...(redactPatterns ? {redactPatterns} : {})}
						timestamps={state.timestamps}
						wrap={state.wrap}
						filter={state.filter}
						editingFilter={state.editingFilter}
						rows={logRows}
						columns={logColumns}
						{...(logRedrawMs === undefined ? {} : {redrawMs: logRedrawMs})}
					/>
				</Box>
			</Box>
		);
	}

	return (
		<ColorContext.Provider value={color}>
			<Box flexDirection="column" width={columns} height={rows - 1}>
				<Header
					project={model.project.name}
					host={model.host}
					engineVersion={model.engine.version}
					incidentId={model.incident.id}
					openedAt={model.incident.openedAt}
					now={now}
					mode={snapshot.mode}
					engineDown={snapshot.engineDown ?? null}
					readOnly={model.readOnly}
					readOnlyReason={model.readOnlyReason}
				/>
				{body}
				{state.view === 'main' ? <StepPanel step={step} waitsFor={waitsFor(step.id)} state={timeline.statuses[step.id]} scope={step.id === 'scope' ? scopeRecord(timeline.events) : null} /> : null}
				<KeyHint message={state.message} view={state.editingFilter ? 'main' : state.view} />
			</Box>
		</ColorContext.Provider>
	);
}
