import {Box, Text} from 'ink';
import {useCallback} from 'react';
import {compileFilter, type LogStore, type StoredLine} from '../../incident/log-store.js';
import type {ConsoleState} from '../console-state.js';
import {useThrottledVersion} from '../hooks/use-throttled-version.js';
import {Toned} from '../theme.js';

/** The view settings come straight from the console's state. */
export interface LogsPaneProps extends Pick<ConsoleState, 'allServices' | 'pausedAt' | 'timestamps' | 'wrap' | 'filter' | 'editingFilter'> {
	store: LogStore;
	/** The services whose lines are shown: one, or all interleaved. */
	services: string[];
	/** Rows and columns available for log lines. */
	rows: number;
	columns: number;
	redrawMs?: number;
}

function clock(time: string | null): string {
	return time ? time.slice(11, 23).padEnd(12, '0') : '            ';
}

export function renderLine(line: StoredLine, options: {timestamps: boolean; allServices: boolean}): string {
	const parts: string[] = [];
	if (options.timestamps) parts.push(clock(line.time));
	if (options.allServices) parts.push(`${line.service} |`);
	parts.push(line.text);
	return parts.join(' ');
}

/** The lines that fit: the newest last, filtered, counting wrapped lines' extra rows. */
export function visibleLines(
	store: LogStore,
	props: Pick<LogsPaneProps, 'services' | 'allServices' | 'pausedAt' | 'timestamps' | 'wrap' | 'filter' | 'rows' | 'columns'>,
): {lines: Array<{line: StoredLine; text: string}>; matched: number; filterError: string | null} {
	const filter = compileFilter(props.filter);
	// Look back far enough to fill the pane even when the filter drops most lines.
	const candidates = store.tail(props.services, props.filter ? store.capacityPerService * props.services.length : props.rows, props.pausedAt ?? undefined);
	const picked: Array<{line: StoredLine; text: string}> = [];
	let used = 0;
	let matched = 0;
	for (let i = candidates.length - 1; i >= 0 && used < props.rows; i--) {
		const line = candidates[i]!;
		const text = renderLine(line, props);
		if (!line.marker && !filter.test(text)) continue;
		matched++;
		const height = props.wrap ? Math.max(1, Math.ceil(text.length / Math.max(1, props.columns))) : 1;
		if (used + height > props.rows && picked.length > 0) break;
		used += height;
		picked.push({line, text});
	}
	return {lines: picked.reverse(), matched, filterError: filter.error};
}

export function LogsPane(props: LogsPaneProps) {
	const {store, services, allServices, pausedAt, filter, editingFilter, rows, wrap, timestamps} = props;
	const subscribe = useCallback((listener: () => void) => store.subscribe(listener), [store]);
	useThrottledVersion(subscribe, props.redrawMs ?? 100);
	const {lines, filterError} = visibleLines(store, props);
	const title = allServices ? 'all services' : (services[0] ?? 'no service');
	const flags = [pausedAt === null ? 'following' : 'paused', timestamps ? 'timestamps' : null, wrap ? 'wrap' : null].filter(Boolean).join(' · ');
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
							{text}
						</Text>
					))
				)}
			</Box>
		</Box>
	);
}
