// The command line, parsed with node's own util.parseArgs. meow did this before, but its
// import (normalize-package-data, SPDX tables, yargs) cost 45–80 ms of every start on the
// test box, a third of `docker compose ps`; headless commands are meant to be as quick.
import {parseArgs} from 'node:util';
import {ConsoleError} from './errors.js';

export interface FlagSpec {
	type: 'string' | 'boolean';
	shortFlag?: string;
	isMultiple?: boolean;
	default?: boolean;
}

/** The parsed value of each flag, as meow typed them: lists default to [], booleans to their default. */
export type Flags<S extends Record<string, FlagSpec>> = {
	[K in keyof S]: S[K] extends {isMultiple: true}
		? string[]
		: S[K] extends {type: 'string'}
			? string | undefined
			: S[K] extends {default: boolean}
				? boolean
				: boolean | undefined;
};

export type Parsed<S extends Record<string, FlagSpec>> =
	| {kind: 'help'}
	| {kind: 'version'}
	| {kind: 'run'; input: string[]; flags: Flags<S>};

export const kebab = (name: string) => name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);

// parseArgs knows no negative numbers; an argument such as `-1` stays a word (as it did with meow).
const numberMark = '\u0000';
const unmark = (value: string) => (value.startsWith(numberMark) ? value.slice(1) : value);

/**
 * `--help` and `--version` anywhere; otherwise the words and the flags. Booleans take
 * `--no-NAME` too. Errors are one line (ConsoleError, exit 2) naming the flag.
 */
export function parseCommandLine<S extends Record<string, FlagSpec>>(argv: readonly string[], specs: S): Parsed<S> {
	type Option = {type: 'string' | 'boolean'; short?: string; multiple?: boolean};
	const options: Record<string, Option> = {help: {type: 'boolean'}, version: {type: 'boolean'}};
	for (const [name, spec] of Object.entries(specs)) {
		options[kebab(name)] = {type: spec.type, ...(spec.shortFlag ? {short: spec.shortFlag} : {}), ...(spec.isMultiple ? {multiple: true} : {})};
		if (spec.type === 'boolean') options[`no-${kebab(name)}`] = {type: 'boolean'};
	}
	let parsed: ReturnType<typeof parseArgs>;
	try {
		parsed = parseArgs({
			args: argv.map(arg => (/^-\d/.test(arg) ? `${numberMark}${arg}` : arg)),
			options,
			allowPositionals: true,
			strict: true,
		});
	} catch (error) {
		throw new ConsoleError(explain(error as Error & {code?: string}));
	}
	const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
	if (values['help']) return {kind: 'help'};
	if (values['version']) return {kind: 'version'};
	const flags: Record<string, unknown> = {};
	for (const [name, spec] of Object.entries(specs)) {
		const value = values[kebab(name)];
		if (spec.type === 'boolean') {
			flags[name] = values[`no-${kebab(name)}`] ? false : value === true ? true : spec.default;
		} else if (spec.isMultiple) {
			flags[name] = ((value as string[] | undefined) ?? []).map(unmark);
		} else {
			flags[name] = typeof value === 'string' ? unmark(value) : undefined;
		}
	}
	return {kind: 'run', input: parsed.positionals.map(unmark), flags: flags as Flags<S>};
}

/** parseArgs's messages, in the console's words: `--to needs a value`, `unknown option --x`. */
function explain(error: Error & {code?: string}): string {
	const flag = /'(?:-[^-' ], )?(-[^' ,]+)/.exec(error.message)?.[1];
	if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) return `unknown option ${flag.split('=')[0]} (see --help)`;
	if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
		return /does not take an argument/.test(error.message) ? `${flag} takes no value (see --help)` : `${flag} needs a value`;
	}
	return `${error.message} (see --help)`;
}

/** The help text laid out as meow did: the description, then the usage, each indented by two. */
export function helpText(description: string | undefined, usage: string): string {
	const lines = usage.replace(/^\n+|\s+$/g, '').split('\n');
	const indent = Math.min(...lines.filter(line => line.trim() !== '').map(line => /^[ \t]*/.exec(line)![0].length));
	const body = lines.map(line => `  ${line.slice(indent)}`.trimEnd()).join('\n');
	return `${description ? `\n  ${description}\n` : ''}\n${body}\n`;
}
