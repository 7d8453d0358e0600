import {Text} from 'ink';

/** The note being typed, one line: its end stays in view however long it gets. */
export function NoteInput({note, columns}: {note: string; columns: number}) {
	const width = Math.max(10, columns - 10);
	const shown = note.length > width ? `…${note.slice(-(width - 1))}` : note;
	return (
		<Text wrap="truncate-end">
			{'> '}
			{shown}
			<Text inverse> </Text>
		</Text>
	);
}
