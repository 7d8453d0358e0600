import {Box, Text} from 'ink';

export const KEYS: ReadonlyArray<[string, string]> = [
	['? esc', 'show or hide this help; esc also leaves a step'],
	['q, Ctrl+C', 'quit (the incident stays open; reopening resumes it)'],
	['↑↓ jk enter', 'move in the checklist; open the selected step'],
	['tab, 1–9', 'show the next / the Nth service\'s logs'],
	['a', 'all services\' logs interleaved'],
	['f', 'follow the logs, or pause them where they are'],
	['PgUp PgDn', 'scroll the logs (pauses them); Home: oldest, End: follow again'],
	['n N', 'with a filter: the previous / next matching line'],
	['u', 'show secrets in the logs, or mask them again (recorded)'],
	['t', 'show or hide timestamps'],
	['w', 'wrap long lines, or cut them at the edge'],
	['/', 'filter the logs (a regex, live; enter keeps it, esc clears it)'],
	['s', 'save the visible log lines to a file in the incident (mode 0600)'],
];


export function HelpOverlay({readOnly}: {readOnly: boolean}) {
	return (
		<Box flexDirection="column" borderStyle="double" paddingX={1} flexGrow={1}>
			<Text bold>Keys</Text>
			{KEYS.map(([key, what]) => (
				<Text key={key} wrap="truncate-end">
					<Text bold>{key.padEnd(12)}</Text>
					{what}
				</Text>
			))}
			<Text wrap="wrap">
				<Text bold>In a step </Text>enter confirms · r reads or probes again · PgUp/PgDn scroll · esc back; a typed confirmation takes every letter, q too. Each step lists its keys on its last line.
			</Text>
			{readOnly ? <Text>Read-only: actions that change anything are hidden.</Text> : null}
		</Box>
	);
}
