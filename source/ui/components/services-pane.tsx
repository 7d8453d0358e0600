import {Box, Text} from 'ink';
import type {ServiceStatus} from '../../incident/service-status.js';
import type {ServicesSnapshot} from '../../incident/services-feed.js';
import {formatDuration, stateTone} from '../../presentation/format.js';
import {Toned} from '../theme.js';

export interface ServicesPaneProps {
	snapshot: ServicesSnapshot;
	now: number;
	selected: string | null;
	allServices: boolean;
	/** Rows for service lines (the pane adds a border, a title and a header). */
	rows: number;
}

const columns = {service: 14, state: 11, health: 10, restarts: 9, exit: 5, tag: 12};

function cell(text: string, width: number): string {
	return text.length > width - 1 ? `${text.slice(0, width - 2)}… ` : text.padEnd(width);
}

// The snapshot is only re-read on events: age the uptime on screen from the start time.
function uptime(service: ServiceStatus, now: number): number | null {
	const started = service.containers.filter(c => c.state === 'running' && c.startedAt).map(c => Date.parse(c.startedAt!));
	return service.state === 'running' && started.length > 0 ? (now - Math.max(...started)) / 1000 : service.uptimeSeconds;
}

export function ServicesPane({snapshot, now, selected, allServices, rows}: ServicesPaneProps) {
	const {services} = snapshot;
	const shown = services.slice(0, rows);
	const failing = services.filter(s => !s.ok).length;
	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} flexShrink={0}>
			<Box justifyContent="space-between">
				<Text bold>Services</Text>
				<Text wrap="truncate-end">
					{snapshot.error ? <Toned tone="bad">engine: {snapshot.error} </Toned> : null}
					{failing > 0 ? <Toned tone="bad">{failing} failing</Toned> : services.length > 0 ? <Toned tone="good">all ok</Toned> : <Toned tone="muted">no services</Toned>}
				</Text>
			</Box>
			<Text wrap="truncate-end">
				<Toned tone="muted">
					{'  '}
					{cell('SERVICE', columns.service)}
					{cell('STATE', columns.state)}
					{cell('HEALTH', columns.health)}
					{cell('RESTARTS', columns.restarts)}
					{cell('EXIT', columns.exit)}
					{cell('TAG', columns.tag)}
					UPTIME
				</Toned>
			</Text>
			{shown.map(s => {
				const isSelected = !allServices && s.service === selected;
				const rising = snapshot.rising.has(s.service);
				return (
					<Text key={s.service} wrap="truncate-end">
						{isSelected ? '› ' : '  '}
						<Text bold={isSelected}>{cell(s.service, columns.service)}</Text>
						<Toned tone={s.ok ? 'good' : stateTone(s.state, s.health)}>{cell(s.state, columns.state)}</Toned>
						<Toned tone={s.health === 'unhealthy' ? 'bad' : s.health === 'starting' ? 'warn' : 'plain'}>{cell(s.health, columns.health)}</Toned>
						<Toned tone={rising ? 'bad' : 'plain'}>{cell(`${s.restartCount}${rising ? ' ↑' : ''}`, columns.restarts)}</Toned>
						{cell(s.exitCode === null ? '-' : String(s.exitCode), columns.exit)}
						{cell(s.image.tag ?? '-', columns.tag)}
						{formatDuration(uptime(s, now))}
					</Text>
				);
			})}
			{services.length > shown.length ? <Toned tone="muted">  … {services.length - shown.length} more</Toned> : null}
		</Box>
	);
}
