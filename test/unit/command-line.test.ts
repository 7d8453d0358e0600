import assert from 'node:assert/strict';
import {test} from 'node:test';
import {helpText, parseCommandLine} from '../../source/command-line.js';
import {isConsoleError} from '../../source/errors.js';

const specs = {
	projectDir: {type: 'string'},
	file: {type: 'string', shortFlag: 'f', isMultiple: true},
	json: {type: 'boolean'},
	color: {type: 'boolean', default: true},
	redact: {type: 'boolean', default: true},
	to: {type: 'string'},
} as const;

const run = (argv: string[]) => {
	const parsed = parseCommandLine(argv, specs);
	assert.equal(parsed.kind, 'run');
	return parsed as Extract<typeof parsed, {kind: 'run'}>;
};

const fails = (argv: string[], message: string) =>
	assert.throws(
		() => parseCommandLine(argv, specs),
		(error: unknown) => isConsoleError(error) && error.exitCode === 2 && error.message === message,
	);

test('words and flags, kebab on the line and camelCase in the result', () => {
	const {input, flags} = run(['status', '--project-dir', '/srv/shop', '-f', 'a.yaml', '--file=b.yaml', '--json']);
	assert.deepEqual(input, ['status']);
	assert.equal(flags.projectDir, '/srv/shop');
	assert.deepEqual(flags.file, ['a.yaml', 'b.yaml']);
	assert.equal(flags.json, true);
});

test('booleans: their default when not typed, --no-NAME turns one off', () => {
	const none = run(['status']).flags;
	assert.equal(none.json, undefined);
	assert.equal(none.color, true);
	assert.deepEqual(none.file, []);
	assert.equal(none.to, undefined);
	const off = run(['capture', '--no-redact', '--no-color']).flags;
	assert.equal(off.redact, false);
	assert.equal(off.color, false);
});

test('a negative number stays a word, also as a value', () => {
	assert.deepEqual(run(['db', 'restore', '-1']).input, ['db', 'restore', '-1']);
	assert.equal(run(['rollback', '--to', '-5']).flags.to, '-5');
});

test('--help and --version wherever they are', () => {
	assert.deepEqual(parseCommandLine(['--help'], specs), {kind: 'help'});
	assert.deepEqual(parseCommandLine(['status', '--help'], specs), {kind: 'help'});
	assert.deepEqual(parseCommandLine(['--version'], specs), {kind: 'version'});
});

test('bad flags are one line that names the flag', () => {
	fails(['--frobnicate'], 'unknown option --frobnicate (see --help)');
	fails(['-x'], 'unknown option -x (see --help)');
	fails(['rollback', '--to'], '--to needs a value');
	fails(['rollback', '--to', '--json'], '--to needs a value');
	fails(['-f'], '--file needs a value');
	fails(['status', '--json=yes'], '--json takes no value (see --help)');
});

test('help is laid out as before: description, then the usage, indented by two', () => {
	const text = helpText('A console.', '\n\t\tUsage\n\t\t  $ rc [options]\n\n\t\tExit codes\n\t\t  0 ok\n');
	assert.equal(text, '\n  A console.\n\n  Usage\n    $ rc [options]\n\n  Exit codes\n    0 ok\n');
	assert.equal(helpText(undefined, '\n  Usage\n'), '\n  Usage\n');
});
