import {redact} from '../../incident/redaction.js';
import {printable} from '../../presentation/text.js';

/**
 * What a log line or a command's output may put on the screen: tabs as spaces, every control
 * character dropped (an escape sequence in a log must not move the cursor or retitle the
 * terminal), and secrets masked with the evidence bundle's rules unless `reveal` is set.
 */
export function safeText(text: string, options: {reveal?: boolean; patterns?: readonly string[] | undefined} = {}): string {
	const shown = printable(text.replace(/\t/g, '    '));
	return options.reveal ? shown : redact(shown, options.patterns ? {extraPatterns: options.patterns} : {}).text;
}
