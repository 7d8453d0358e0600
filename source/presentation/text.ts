/** An error's message for one line of output: Error.message, or the value as text. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Text safe to draw in one terminal row: line breaks and tabs become spaces, and every other
 * control character (ESC of a cursor move or a title change, BEL, C1 codes) is dropped.
 */
export const printable = (text: string): string => text.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001F\u007F-\u009F]/g, '');

/** `n thing` or `n things`. */
export const plural = (n: number, thing: string, many = `${thing}s`): string => `${n} ${n === 1 ? thing : many}`;
