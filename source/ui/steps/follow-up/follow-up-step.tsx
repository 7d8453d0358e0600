import {useInput} from 'ink';
import {useMemo, useState} from 'react';
import type {CloseResult} from '../../../incident/follow-up/close.js';
import {reminderStates} from '../../../incident/follow-up/reminders.js';
import {errorText} from '../../../presentation/text.js';
import {FooterLine} from '../../components/footer-line.js';
import type {Line} from '../../kit/line.js';
import {StepFrame} from '../../kit/step-frame.js';
import {useAbortableLoad} from '../../kit/use-abortable-load.js';
import {useLatest} from '../../kit/use-latest.js';
import {useScroll} from '../../kit/use-scroll.js';
import type {StepProps} from '../step-props.js';
import {closeLines, reminderLines, reportLines, summaryLines} from './follow-up-lines.js';

type Asking = 'notify' | 'issue' | 'close';

/**
 * Step 7: the report as it stands (scrollable), the runbooks' reminders to tick (each tick
 * recorded), notify and create-issue (each confirmed), then close — which writes report.md,
 * exports the bundle, announces the close and ends the incident, as `close` does.
 */
export function FollowUpStep({model, record, events, rows, columns, active, onClose, onQuit}: Pick<StepProps, 'model' | 'record' | 'events' | 'rows' | 'columns' | 'active' | 'onClose' | 'onQuit'>) {
	const followUp = model.followUp;
	const loaded = useAbortableLoad(followUp ? signal => followUp.report(signal) : null, [followUp]);
	const scroll = useScroll();
	const [cursor, setCursor] = useState(0);
	const [asking, setAsking, askingRef] = useLatest<Asking | null>(null);
	const [busy, setBusy, busyRef] = useLatest<string | null>(null);
	const [message, setMessage] = useState<{text: string; tone: 'good' | 'bad' | 'warn'} | null>(null);
	const [closed, setClosed] = useState<CloseResult | null>(null);

	const facts = loaded.value?.facts ?? null;
	const reminders = useMemo(() => reminderStates(events, facts?.links ?? {to: null}), [events, facts]);
	const unfinished = followUp ? followUp.unfinished(events) : [];
	const ended = closed?.closed === true || events.some(e => e.type === 'incident_closed');

	const act = async (what: Asking) => {
		if (!followUp) return;
		setAsking(null);
		setBusy(what === 'close' ? 'closing: report, bundle, notifications…' : what === 'issue' ? 'creating the issue…' : 'notifying…');
		try {
			if (what === 'notify') {
				const sent = await followUp.notify(facts?.release.outcome ? `rollback ${facts.release.from?.tag ?? '?'} → ${facts.release.to?.tag ?? '?'} ${facts.release.outcome}` : 'incident in progress', record);
				setMessage({text: sent.line, tone: sent.ok ? 'good' : 'bad'});
			} else if (what === 'issue') {
				const issue = await followUp.createIssue(loaded.value?.markdown ?? '', record);
				setMessage({text: issue.line, tone: issue.ok ? 'good' : 'bad'});
			} else {
				const refusal = await followUp.refusal();
				if (refusal) {
					setMessage({text: `close refused: ${refusal}`, tone: 'bad'});
					return;
				}
				const result = await followUp.close(record, () => {});
				setClosed(result);
				setMessage(result.closed ? {text: `incident closed${result.bundle ? ` · bundle sha256 ${result.bundle.sha256.slice(0, 12)}…` : ''}`, tone: 'good'} : {text: result.lines.at(-1) ?? 'close stopped', tone: 'bad'});
			}
		} catch (error) {
			setMessage({text: errorText(error), tone: 'bad'});
		} finally {
			setBusy(null);
		}
	};

	useInput(
		(input, key) => {
			if (message) setMessage(null);
			if (scroll.handle(input, key)) return;
			const question = askingRef.current;
			if (question) {
				if (input === 'y') void act(question);
				else if (input === 'n' || key.escape) setAsking(null);
				return;
			}
			if (busyRef.current) return;
			if (key.escape) return onClose();
			if (input === 'q') return onQuit();
			if (input === 'r') return loaded.reload();
			if (key.upArrow) return setCursor(c => Math.max(0, c - 1));
			if (key.downArrow) return setCursor(c => Math.min(reminders.length - 1, c + 1));
			const changes = input === ' ' || key.return || input === 'n' || input === 'i' || input === 'c';
			if (changes && (model.readOnly || ended)) {
				return setMessage({text: ended ? 'the incident is closed: nothing more to do here' : `read-only${model.readOnlyReason ? ` (${model.readOnlyReason})` : ''}: nothing is recorded`, tone: 'warn'});
			}
			if (input === ' ' || key.return) {
				const r = reminders[cursor];
				if (r) void record('follow-up', 'reminder', {id: r.id, done: !r.done});
				return;
			}
			if (input === 'n') return followUp?.notifyConfigured ? setAsking('notify') : setMessage({text: 'no webhook configured (x-rollback-console.notify.webhook)', tone: 'warn'});
			if (input === 'i') return followUp?.issueConfigured ? setAsking('issue') : setMessage({text: 'no GitHub repository configured (x-rollback-console.notify.github)', tone: 'warn'});
			if (input === 'c') return setAsking('close');
		},
		{isActive: active},
	);

	let lines: Line[];
	if (!followUp) lines = [{key: 'none', tone: 'warn', text: 'Follow up is not available in this console.'}];
	else if (!loaded.value) {
		lines = [loaded.error ? {key: 'error', tone: 'bad', text: `could not build the report: ${loaded.error} · r: try again`} : {key: 'loading', tone: 'muted', text: 'building the report from the timeline and the evidence…'}];
	} else {
		lines = [
			...closeLines(closed, ended ? [] : unfinished),
			...summaryLines(loaded.value.facts),
			{key: 'gap1', text: ''},
			...reminderLines(reminders, cursor),
			{key: 'gap2', text: ''},
			...reportLines(loaded.value.markdown),
		];
	}

	let footer = null;
	if (asking === 'close') {
		const plan = followUp?.plan() ?? [];
		footer = <FooterLine tone="warn" bold text={`${unfinished.length > 0 ? `${unfinished.length} steps not done (${unfinished.join(', ')}). ` : ''}close: ${plan.map(a => a.title.toLowerCase()).join(', ')}? y/n`} />;
	} else if (asking === 'notify') footer = <FooterLine tone="warn" bold text="send an incident update to the webhook? y/n" />;
	else if (asking === 'issue') footer = <FooterLine tone="warn" bold text="create the follow-up issue on GitHub with this report as its body? y/n" />;
	else if (busy) footer = <FooterLine tone="warn" text={busy} />;

	const keys = asking ? 'y: go ahead  n/esc: cancel' : ended ? 'PgUp/PgDn: scroll  esc: back  q: quit' : '↑↓ space: tick reminder  n: notify  i: create issue  c: close the incident  PgUp/PgDn: report  r: rebuild  esc: back';
	return (
		<StepFrame
			step="follow-up"
			subtitle={ended ? 'closed' : loaded.loading ? 'building the report…' : 'report, reminders, close'}
			lines={lines}
			footer={footer}
			keys={keys}
			message={message}
			rows={rows}
			columns={columns}
			scroll={scroll}
		/>
	);
}
