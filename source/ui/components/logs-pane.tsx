import {Box, Text} from 'ink';
import {useCallback} from 'react';
import {compileFilter, type LogStore, type StoredLine} from '../../incident/log-store.js';
import type {ConsoleState} from '../console-state.js';
import {useThrottledVersion} from '../hooks/use-throttled-version.js';
import {Toned} from '../theme.js';
import {safeText} from '../kit/safe-text.js';

/** The view settings come straight from the console's state. */
export interface LogsPaneProps extends Pick<ConsoleState, 'allServices' | 'pausedAt' | 'scrollBack' | 'revealSecrets' | 'timestamps' | 'wrap' | 'filter' | 'editingFilter'> {
	store: LogStore;
	/** The services whose lines are shown: one, or all interleaved. */
	services: string[];
	/** Rows and columns available for log lines. */
	rows: number;
	columns: number;
	redrawMs?: number;
	/** Extra redaction patterns (x-rollback-console.redact.patterns). */
	redactPatterns?: readonly string[];
}

function clock(time: string | null): string {
	return time ? time.slice(11, 23).padEnd(12, '0') : '            ';
}

/**
 * A log line as the screen shows it: control characters dropped (an escape sequence in a log
 * must not move the cursor or retitle the terminal) and, unless the operator revealed them,
 * secrets masked with the evidence bundle's rules.
 */
export function renderLine(
	line: StoredLine,
	options: {timestamps: boolean; allServices: boolean; revealSecrets?: boolean; redactPatterns?: readonly string[] | undefined},
): string {
	const parts: string[] = [];
	if (options.timestamps) parts.push(clock(line.time));
	if (options.allServices) parts.push(`${line.service} |`);
	parts.push(safeText(line.text, {reveal: options.revealSecrets, patterns: options.redactPatterns}));
	return parts.join(' ');
}

export interface VisibleLines {
	lines: Array<{line: StoredLine; text: string}>;
	/** Lines there are to scroll through (those passing the filter), up to the paused end. */
	total: number;
	/** Position of the first and last line shown among `total`, counted from 1. */
	first: number;
	last: number;
	/** The largest useful scrollBack. */
	maxScrollBack: number;
	filterError: string | null;
}

/** The lines that fit: `scrollBack` lines up from the newest, filtered, counting wrapped lines' extra rows. */
export function visibleLines(
	store: LogStore,
	props: Pick<LogsPaneProps, 'services' | 'allServices' | 'pausedAt' | 'timestamps' | 'wrap' | 'filter' | 'rows' | 'columns' | 'revealSecrets' | 'redactPatterns'> & {scrollBack?: number},
): VisibleLines {
	const filter = compileFilter(props.filter);
	const upTo = props.pausedAt ?? undefined;
	const wanted = props.scrollBack ?? 0;
	// Each candidate with its rendered text (null until needed): the filter renders every kept line, and what it rendered is drawn.
	let candidates: Array<{line: StoredLine; text: string | null}>;
	let total: number;
	let back: number;
	if (props.filter) {
		// The filter is on what the screen shows (redacted): scan every kept line.
		candidates = store
			.tail(props.services, store.capacityPerService * props.services.length, upTo)
			.map(line => ({line, text: renderLine(line, props)}))
			.filter(({line, text}) => line.marker || filter.test(text));
		total = candidates.length;
		back = Math.min(wanted, Math.max(0, total - props.rows));
		candidates = candidates.slice(0, total - back);
	} else {
		total = store.count(props.services, upTo);
		back = Math.min(wanted, Math.max(0, total - props.rows));
		candidates = store
			.tail(props.services, props.rows + back, upTo)
			.slice(0, Math.max(0, Math.min(props.rows + back, total) - back))
			.map(line => ({line, text: null}));
	}
	const picked: Array<{line: StoredLine; text: string}> = [];
	let used = 0;
	for (let i = candidates.length - 1; i >= 0 && used < props.rows; i--) {
		const {line, text: rendered} = candidates[i]!;
		const full = rendered ?? renderLine(line, props);
		// Only what fits goes to Ink: measuring and cutting a 64 KiB line took it tens of seconds a frame.
		const room = (props.wrap ? props.rows : 1) * Math.max(1, props.columns) + 1;
		const text = full.length > room ? full.slice(0, room) : full;
		const height = props.wrap ? Math.max(1, Math.ceil(text.length / Math.max(1, props.columns))) : 1;
		if (used + height > props.rows && picked.length > 0) break;
		used += height;
		picked.push({line, text});
	}
	const last = total - back;
	return {lines: picked.reverse(), total, first: Math.max(1, last - picked.length + 1), last, maxScrollBack: Math.max(0, total - props.rows), filterError: filter.error};
}

export function LogsPane(props: LogsPaneProps) {
	const {store, services, allServices, pausedAt, filter, editingFilter, rows, wrap, timestamps} = props;
	const subscribe = useCallback((listener: () => void) => store.subscribe(listener), [store]);
	useThrottledVersion(subscribe, props.redrawMs ?? 100);
	const {lines, filterError, total, first, last} = visibleLines(store, props);
	const title = allServices ? 'all services' : (services[0] ?? 'no service');
	const position = pausedAt !== null && total > 0 ? `lines ${first}–${last} of ${total}` : null;
	const flags = [pausedAt === null ? 'following' : 'paused', position, timestamps ? 'timestamps' : null, wrap ? 'wrap' : null, props.revealSecrets ? 'SECRETS SHOWN' : null]
		.filter(Boolean)
		.join(' · ');
	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} flexGrow={1}>
			<Box justifyContent="space-between">
				<Text bold wrap="truncate-end">
					Logs: {title}
				</Text>
				<Toned tone={pausedAt === null ? 'muted' : 'warn'}>{flags}</Toned>
			</Box>
			{editingFilter || filter ? (
				<Text wrap="truncate-end">
					<Toned tone="warn">/{filter}</Toned>
					{editingFilter ? <Text inverse> </Text> : null}
					{filterError ? <Toned tone="muted"> (not a regex: matching the text as typed)</Toned> : null}
				</Text>
			) : null}
			<Box flexDirection="column" height={rows} overflow="hidden">
				{lines.length === 0 ? (
					<Toned tone="muted">{filter ? 'no line matches the filter' : 'no log lines yet'}</Toned>
				) : (
					lines.map(({line, text}) => (
						<Text key={line.seq} wrap={wrap ? 'wrap' : 'truncate-end'} dimColor={line.marker}>
							{text === '' ? ' ' : text}
						</Text>
					))
				)}
			</Box>
		</Box>
	);
}
