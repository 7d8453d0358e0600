import {Box, Text} from 'ink';
import type {ServiceStatus} from '../../incident/service-status.js';
import type {ServicesSnapshot} from '../../incident/services-feed.js';
import {cell, fitColumns, type ColumnSpec} from '../../presentation/columns.js';
import {formatDuration, stateTone, type Tone} from '../../presentation/format.js';
import {Toned} from '../theme.js';

type Column = 'service' | 'state' | 'health' | 'restarts' | 'exit' | 'tag' | 'uptime';

export interface ServicesPaneProps {
	snapshot: ServicesSnapshot;
	now: number;
	selected: string | null;
	allServices: boolean;
	/** Rows for service lines (the pane adds a border, a title and a header). */
	rows: number;
	/** Columns inside the pane's border and padding. */
	width: number;
}

/** The table's columns sized to what there is, dropped by priority when the pane is narrow. */
export function serviceColumns(services: readonly ServiceStatus[], width: number): ColumnSpec<Column>[] {
	const widest = (values: string[], min: number, max: number) => Math.min(max, Math.max(min, ...values.map(v => v.length + 1)));
	const specs: ColumnSpec<Column>[] = [
		{key: 'service', title: 'SERVICE', priority: 0, width: widest(services.map(s => s.service), 8, 18)},
		{key: 'state', title: 'STATE', priority: 1, width: widest(services.map(s => s.state), 6, 14)},
		{key: 'health', title: 'HEALTH', priority: 4, width: 10},
		{key: 'restarts', title: 'RESTARTS', priority: 3, width: 9},
		{key: 'exit', title: 'EXIT', priority: 5, width: 5},
		{key: 'tag', title: 'TAG', priority: 2, width: widest(services.map(s => s.image.tag ?? '-'), 4, 16)},
		{key: 'uptime', title: 'UPTIME', priority: 6, width: 7},
	];
	// Two columns for the selection mark.
	return fitColumns(specs, width - 2);
}


// The snapshot is only re-read on events: age the uptime on screen from the start time.
function uptime(service: ServiceStatus, now: number): number | null {
	const started = service.containers.filter(c => c.state === 'running' && c.startedAt).map(c => Date.parse(c.startedAt!));
	return service.state === 'running' && started.length > 0 ? (now - Math.max(...started)) / 1000 : service.uptimeSeconds;
}

/** Local wall-clock time, for "unknown since 03:12:09". */
export function clockTime(ms: number): string {
	return new Date(ms).toTimeString().slice(0, 8);
}

function cellOf(column: Column, s: ServiceStatus, rising: boolean, now: number, unknown: boolean): [string, Tone] {
	// The Engine is not answering: what it said last is no longer known to be true.
	if (unknown && column !== 'service' && column !== 'tag') return [column === 'state' ? 'unknown' : '-', column === 'state' ? 'warn' : 'muted'];
	switch (column) {
		case 'service':
			return [s.service, 'plain'];
		case 'state':
			return [s.state, s.ok ? 'good' : stateTone(s.state, s.health)];
		case 'health':
			return [s.health, s.health === 'unhealthy' ? 'bad' : s.health === 'starting' ? 'warn' : 'plain'];
		case 'restarts':
			return [`${s.restartCount}${rising ? ' ↑' : ''}`, rising ? 'bad' : 'plain'];
		case 'exit':
			return [s.exitCode === null ? '-' : String(s.exitCode), 'plain'];
		case 'tag':
			return [s.image.tag ?? '-', 'plain'];
		case 'uptime':
			return [formatDuration(uptime(s, now)), 'plain'];
	}
}

export function ServicesPane({snapshot, now, selected, allServices, rows, width}: ServicesPaneProps) {
	const {services} = snapshot;
	const shown = services.slice(0, rows);
	const failing = services.filter(s => !s.ok).length;
	const down = snapshot.engineDown ?? null;
	// Sized for what is shown: "unknown" while the Engine does not answer.
	const table = serviceColumns(down ? services.map(s => ({...s, state: 'unknown' as ServiceStatus['state']})) : services, width);
	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} flexShrink={0}>
			<Box justifyContent="space-between">
				<Box flexShrink={0} marginRight={1}>
					<Text bold>Services</Text>
				</Box>
				<Text wrap="truncate-end">
					{down ? (
						<Toned tone="warn">
							unknown since {clockTime(down.since)}: {down.error}
						</Toned>
					) : failing > 0 ? <Toned tone="bad">{failing} failing</Toned> : services.length > 0 ? <Toned tone="good">all ok</Toned> : <Toned tone="muted">no services</Toned>}
				</Text>
			</Box>
			<Text wrap="truncate-end">
				<Toned tone="muted">
					{'  '}
					{table.map(c => cell(c.title, c.width)).join('')}
				</Toned>
			</Text>
			{shown.map(s => {
				const isSelected = !allServices && s.service === selected;
				const rising = snapshot.rising.has(s.service);
				return (
					<Text key={s.service} wrap="truncate-end">
						{isSelected ? '› ' : '  '}
						{table.map(c => {
							const [text, tone] = cellOf(c.key, s, rising, now, down !== null);
							return c.key === 'service' ? (
								<Text key={c.key} bold={isSelected}>
									{cell(text, c.width)}
								</Text>
							) : (
								<Toned key={c.key} tone={tone}>
									{cell(text, c.width)}
								</Toned>
							);
						})}
					</Text>
				);
			})}
			{services.length > shown.length ? <Toned tone="muted">  … {services.length - shown.length} more</Toned> : null}
		</Box>
	);
}
