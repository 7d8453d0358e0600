import {Box, Text} from 'ink';
import type {ReactNode} from 'react';
import {stepInfo} from '../../incident/checklist.js';
import type {StepId} from '../../incident/timeline.js';
import type {Tone} from '../../presentation/format.js';
import {Toned} from '../theme.js';
import {lineRows, type Line} from './line.js';
import type {Scroll} from './use-scroll.js';

export interface StepFrameProps {
	step: StepId;
	/** After the title, muted: what the step is for, or where it stands. */
	subtitle?: string;
	/** The body, scrolled when it does not fit. */
	lines: readonly Line[];
	/** Drawn between the body and the keys, never scrolled away: a question being asked, a confirmation being typed. */
	footer?: ReactNode;
	/** The keys this view takes, on the last row. */
	keys: string;
	/** A one-line answer to the last key (an error, "saved to …"). */
	message?: {text: string; tone: Tone} | null;
	rows: number;
	columns: number;
	scroll?: Scroll;
}

function LineText({line}: {line: Line}) {
	return (
		<Text wrap={line.wrap ? 'wrap' : 'truncate-end'}>
			{line.tone ? (
				<Toned tone={line.tone} bold={line.bold}>
					{line.text}
				</Toned>
			) : (
				<Text bold={line.bold}>{line.text === '' ? ' ' : line.text}</Text>
			)}
		</Text>
	);
}

/**
 * Every step's frame: "Step N · Title" from the registry, the body (scrolled with PgUp/PgDn,
 * a position line saying which lines show), the footer, the message and the key line. It
 * takes exactly `rows` rows, so the live region never outgrows the terminal.
 */
export function StepFrame({step, subtitle, lines, footer, keys, message, rows, columns, scroll}: StepFrameProps) {
	const info = stepInfo(step);
	const width = Math.max(10, columns - 4);
	const footerRows = footer ? 1 : 0;
	const room = Math.max(1, rows - 2 - 1 - 1 - (message ? 1 : 0) - footerRows);
	const heights = lines.map(line => lineRows(line, width));
	const total = heights.reduce((sum, h) => sum + h, 0);

	let shown: readonly Line[] = lines;
	let position: string | null = null;
	if (total > room) {
		const body = Math.max(1, room - 1);
		// The largest first line that still fills the body.
		let max = lines.length - 1;
		for (let used = 0; max >= 0; max--) {
			used += heights[max]!;
			if (used > body) {
				max++;
				break;
			}
		}
		max = Math.max(0, Math.min(lines.length - 1, max));
		if (scroll) scroll.max.current = max;
		const first = Math.min(scroll?.top ?? 0, max);
		const picked: Line[] = [];
		for (let i = first, used = 0; i < lines.length && used + heights[i]! <= body; i++) {
			picked.push(lines[i]!);
			used += heights[i]!;
		}
		if (picked.length === 0 && lines[first]) picked.push({...lines[first]!, wrap: false});
		shown = picked;
		position = `lines ${first + 1}–${first + picked.length} of ${lines.length}${scroll ? ' · PgUp/PgDn Home/End' : ' (a taller terminal shows more)'}`;
	} else if (scroll) {
		scroll.max.current = 0;
	}

	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1} height={rows} flexShrink={0} overflow="hidden">
			<Text wrap="truncate-end">
				<Text bold>
					Step {info.number} · {info.title}
				</Text>
				{subtitle ? <Toned tone="muted"> · {subtitle}</Toned> : null}
			</Text>
			{shown.map(line => (
				<LineText key={line.key} line={line} />
			))}
			{position ? (
				<Text wrap="truncate-end">
					<Toned tone="muted">{position}</Toned>
				</Text>
			) : null}
			<Box flexGrow={1} />
			{footer ?? null}
			{message ? (
				<Text wrap="truncate-end">
					<Toned tone={message.tone}>{message.text}</Toned>
				</Text>
			) : null}
			<Text wrap="truncate-end">
				<Toned tone="muted">{keys}</Toned>
			</Text>
		</Box>
	);
}
