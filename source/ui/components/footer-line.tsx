import {Text} from 'ink';
import type {Tone} from '../../presentation/format.js';
import {Toned} from '../theme.js';

/** One toned line for a StepFrame footer: a question being asked, an action running, what the selected action does. */
export function FooterLine({text, tone, bold}: {text: string; tone: Tone; bold?: boolean}) {
	return (
		<Text wrap="truncate-end">
			<Toned tone={tone} bold={bold}>
				{text}
			</Toned>
		</Text>
	);
}
