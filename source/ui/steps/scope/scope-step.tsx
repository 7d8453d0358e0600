import {useInput, usePaste} from 'ink';
import {useCallback, useState} from 'react';
import {scopeRecord, type ScopeRecord} from '../../../incident/scope.js';
import {useThrottledVersion} from '../../hooks/use-throttled-version.js';
import {StepFrame} from '../../kit/step-frame.js';
import {useAbortableLoad} from '../../kit/use-abortable-load.js';
import type {StepProps} from '../step-props.js';
import {NoteInput} from './note-input.js';
import {scopeLayout} from './scope-layout.js';
import {decisionLines, healthLines, interactionRows, keyLine, questionnaireLines, servicesLines} from './sections.js';
import {useHealthProbes} from './use-health-probes.js';
import {useQuestionnaire} from './use-questionnaire.js';
import {criteriaLines, measuredOf} from '../verify/criteria-lines.js';
import {lineRows} from '../../kit/line.js';

export type ScopeStepProps = Pick<StepProps, 'model' | 'snapshot' | 'record' | 'events' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>;

/** How many of a failing service's last lines the step keeps (the runbooks' "last 50 lines"). */
export const SCOPE_LOG_LINES = 50;

/**
 * Step 1: is the site really down, and roll back or hotfix? Shows the failing services with
 * their last log lines and the health URLs, asks the runbooks' four questions, and records
 * the answers, a note and the decision. The decision shown is always the timeline's.
 */
export function ScopeStep({model, snapshot, record, events, rows, columns, active, onClose, onQuit}: ScopeStepProps) {
	const recorded: ScopeRecord | null = scopeRecord(events);
	const {readOnly} = model;
	const configured = model.settings.health;
	const [selected, setSelected] = useState<string | null>(null);
	const [scroll, setScroll] = useState(0);
	const [message, setMessage] = useState<string | null>(null);
	const health = useHealthProbes(model);
	// How the Compose file names its release (or why a rollback would be refused): read once, in the background.
	const release = useAbortableLoad(model.stabilise?.release ? () => model.stabilise!.release!() : null, [model]);
	// The runbook's "when to roll back", measured with Verify's checks: shown, recorded with the decision, and pre-filling it.
	const criteria = useAbortableLoad(model.verify ? signal => model.verify!.criteria(signal) : null, [model]);
	const measured = measuredOf(criteria.value ?? null);
	const measuredLines = criteriaLines(criteria.value ?? null, criteria.loading, criteria.error);
	const releaseLine = release.value ? (release.value.error ? `Release: ${release.value.error}` : `Release: ${release.value.summary ?? release.value.lines[0] ?? ''}`) : null;

	// Redraw as the failing service's log lines arrive, a few times a second at most.
	const subscribe = useCallback((listener: () => void) => model.logs.subscribe(listener), [model]);
	useThrottledVersion(subscribe, 100);

	const failing = snapshot.services.filter(s => !s.ok);
	const current = failing.find(s => s.service === selected) ?? failing[0] ?? null;
	const logLines = current ? model.logs.tail([current.service], SCOPE_LOG_LINES) : [];

	const questionnaire = useQuestionnaire({
		events,
		recorded,
		readOnly,
		record,
		context: () => ({
			failing: failing.map(s => ({service: s.service, state: s.state, exitCode: s.exitCode, restartCount: s.restartCount})),
			health: (health.probes ?? []).map(({url, ok, status, latencyMs, error}) => ({url, ok, status, latencyMs, error})),
			...(criteria.value ? {measured: criteria.value} : {}),
		}),
		onError: setMessage,
		measured: () => measured,
	});
	const {asking} = questionnaire;

	const layout = scopeLayout(rows, {
		top: recorded ? (asking ? 1 : 3 + (recorded.note ? 1 : 0)) : 0,
		reasons: recorded && !asking ? recorded.reasons.length : 0,
		interaction: interactionRows(asking, readOnly, recorded, measured),
		failing: failing.length,
		health: configured.length,
		snippet: configured.length === 0,
		message: message ? 1 : 0,
		release: (releaseLine ? 1 : 0) + measuredLines.reduce((rows, line) => rows + lineRows(line, Math.max(10, columns - 4)), 0),
	});
	const maxScroll = Math.max(0, logLines.length - layout.logRows);
	const offset = Math.min(scroll, maxScroll);

	useInput(
		(input, key) => {
			if (message) setMessage(null);
			if (questionnaire.typeNote(input, key)) return;
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			if (key.tab && failing.length > 0) {
				const step = key.shift ? -1 : 1;
				setSelected(previous => {
					const at = Math.max(0, failing.findIndex(s => s.service === (previous ?? current?.service)));
					return failing[(at + step + failing.length) % failing.length]!.service;
				});
				setScroll(0);
				return;
			}
			// Functional updates: a held arrow key sends keys faster than redraws.
			const page = Math.max(1, layout.logRows);
			if (key.upArrow || key.pageUp) return setScroll(s => Math.min(maxScroll, Math.min(s, maxScroll) + (key.pageUp ? page : 1)));
			if (key.downArrow || key.pageDown) return setScroll(s => Math.max(0, Math.min(s, maxScroll) - (key.pageDown ? page : 1)));
			// r (and p) probe again, everywhere: one meaning per key across the steps.
			if ((input === 'p' || input === 'r') && configured.length > 0) return health.probe();
			questionnaire.handle(input, key);
		},
		{isActive: active},
	);

	usePaste(questionnaire.paste, {isActive: active && asking?.phase === 'note'});

	const width = Math.max(10, columns - 4);
	const lines = [
		...(recorded ? decisionLines(recorded, asking !== null, readOnly, layout) : []),
		...servicesLines(snapshot, failing, current, {lines: logLines, offset, maxScroll}, layout, width),
		...healthLines(configured, health, layout, 'r'),
		...(releaseLine ? [{key: 'release', tone: release.value?.error ? ('warn' as const) : ('muted' as const), text: releaseLine}] : []),
		...measuredLines,
		...questionnaireLines(asking, readOnly, model.readOnlyReason, recorded, measured),
	];

	return (
		<StepFrame
			step="scope"
			subtitle="is the site really down, and roll back or hotfix?"
			lines={lines}
			footer={asking?.phase === 'note' ? <NoteInput note={asking.note} columns={columns} /> : undefined}
			message={message ? {text: message, tone: 'bad'} : null}
			keys={keyLine(asking, readOnly, recorded)}
			rows={rows}
			columns={columns}
		/>
	);
}
