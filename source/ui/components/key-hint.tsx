import {Text} from 'ink';
import {Toned} from '../theme.js';

export function KeyHint({message, view}: {message: string | null; view: 'main' | 'help' | 'step'}) {
	if (message) {
		return (
			<Text wrap="wrap">
				<Toned tone="warn">{message}</Toned>
			</Text>
		);
	}
	const hint =
		view === 'main'
			? '?:help q:quit ↑↓:step enter:open tab:service f:follow PgUp/Dn:scroll /:filter'
			: view === 'help'
				? '?/esc: close help   q: quit'
				: 'esc: back to the checklist   q: quit';
	return (
		<Text wrap="truncate-end">
			<Toned tone="muted">{hint}</Toned>
		</Text>
	);
}
