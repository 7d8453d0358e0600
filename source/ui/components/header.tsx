import {Box, Text} from 'ink';
import {formatDuration} from '../../presentation/format.js';
import type {FeedMode} from '../../incident/services-feed.js';
import {Toned} from '../theme.js';

export interface HeaderProps {
	project: string;
	host: string;
	engineVersion: string;
	incidentId: string;
	openedAt: string;
	now: number;
	mode: FeedMode;
	readOnly: boolean;
	/** Why, when it is not the operator's choice: who holds the project ("locked by …"). */
	readOnlyReason?: string | null;
	/** The Engine is not answering: said instead of the feed's mode. */
	engineDown?: {since: number} | null;
}

const modeTone = {starting: 'muted', live: 'good', polling: 'warn'} as const;
const modeText = {starting: '○ connecting', live: '● live', polling: '◌ polling (event stream down)'} as const;

export function Header({project, host, engineVersion, incidentId, openedAt, now, mode, readOnly, readOnlyReason, engineDown}: HeaderProps) {
	const age = formatDuration((now - Date.parse(openedAt)) / 1000);
	return (
		<Box width="100%" justifyContent="space-between">
			<Text wrap="truncate-end">
				<Text bold>{project}</Text> @ {host} · incident {incidentId} ({age}) · docker {engineVersion}
			</Text>
			<Box flexShrink={0} marginLeft={1}>
				{readOnly ? <Toned tone="warn">READ-ONLY{readOnlyReason && readOnlyReason !== '--read-only' ? ` (${readOnlyReason.slice(0, 60)}${readOnlyReason.length > 60 ? '…' : ''})` : ''} </Toned> : null}
				{engineDown ? (
					<Toned tone="bad">✕ Engine unreachable ({formatDuration(Math.max(0, now - engineDown.since) / 1000)})</Toned>
				) : (
					<Toned tone={modeTone[mode]}>{modeText[mode]}</Toned>
				)}
			</Box>
		</Box>
	);
}
