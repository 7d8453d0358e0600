import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {composeProjectArgs, locateProject} from '../../source/engine/compose-project.js';
import {ConsoleError} from '../../source/errors.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'rc-locate-'));
after(() => rmSync(root, {recursive: true, force: true}));

function dir(name: string, files: Record<string, string> = {}): string {
	const d = path.join(root, name);
	mkdirSync(d, {recursive: true});
	for (const [file, body] of Object.entries(files)) {
		mkdirSync(path.dirname(path.join(d, file)), {recursive: true});
		writeFileSync(path.join(d, file), body);
	}
	return d;
}

const usage = (pattern: RegExp) => (error: unknown) =>
	error instanceof ConsoleError && error.exitCode === 2 && pattern.test(error.message);

test('finds compose.yaml in a parent directory, like compose', () => {
	const project = dir('parent', {'compose.yaml': 'services: {}\n', 'src/deep/.keep': ''});
	const found = locateProject({}, {}, path.join(project, 'src', 'deep'));
	assert.deepEqual(found, {workingDir: project, files: [path.join(project, 'compose.yaml')], name: null});
});

test('adds the override file compose would merge', () => {
	const project = dir('override', {'docker-compose.yml': '', 'docker-compose.override.yml': ''});
	assert.deepEqual(locateProject({}, {}, project).files, [
		path.join(project, 'docker-compose.yml'),
		path.join(project, 'docker-compose.override.yml'),
	]);
});

test('compose.yaml wins over docker-compose.yml', () => {
	const project = dir('both', {'compose.yaml': '', 'docker-compose.yml': ''});
	assert.deepEqual(locateProject({}, {}, project).files, [path.join(project, 'compose.yaml')]);
});

test('--project-dir looks only in that directory', () => {
	const project = dir('pd/inner');
	dir('pd', {'compose.yaml': ''});
	assert.throws(() => locateProject({projectDir: project}, {}, root), usage(/not a Compose project: no compose\.yaml.* in .*pd\/inner \(/));
});

test('-f files are relative to the current directory and may be repeated', () => {
	const project = dir('files', {'base.yml': '', 'prod.yml': ''});
	const found = locateProject({files: ['base.yml', 'prod.yml']}, {}, project);
	assert.deepEqual(found.files, [path.join(project, 'base.yml'), path.join(project, 'prod.yml')]);
	assert.equal(found.workingDir, project);
});

test('COMPOSE_FILE and COMPOSE_PROJECT_NAME come from the environment or the .env file', () => {
	const project = dir('envfile', {'a.yml': '', 'b.yml': '', '.env': 'COMPOSE_FILE=a.yml:b.yml\nCOMPOSE_PROJECT_NAME=from-dotenv\n'});
	const fromDotEnv = locateProject({}, {}, project);
	assert.deepEqual(fromDotEnv.files, [path.join(project, 'a.yml'), path.join(project, 'b.yml')]);
	assert.equal(fromDotEnv.name, 'from-dotenv');
	const fromEnv = locateProject({}, {COMPOSE_FILE: 'b.yml', COMPOSE_PROJECT_NAME: 'from-env'}, project);
	assert.deepEqual(fromEnv.files, [path.join(project, 'b.yml')]);
	assert.equal(fromEnv.name, 'from-env');
	assert.equal(locateProject({projectName: 'flag'}, {COMPOSE_PROJECT_NAME: 'from-env'}, project).name, 'flag');
});

test('bad input is one clear line with exit code 2', () => {
	const empty = dir('empty');
	assert.throws(() => locateProject({files: ['nope.yml']}, {}, empty), usage(/Compose file not found: .*nope\.yml/));
	assert.throws(() => locateProject({projectDir: 'missing'}, {}, empty), usage(/--project-dir missing: no such directory/));
	const project = dir('named', {'compose.yaml': ''});
	assert.throws(() => locateProject({projectName: 'Bad Name'}, {}, project), usage(/invalid project name "Bad Name"/));
});

test('compose is pointed at exactly the located project', () => {
	assert.deepEqual(composeProjectArgs({workingDir: '/srv/app', files: ['/srv/app/compose.yaml', '/srv/app/prod.yml'], name: 'shop'}), [
		'--project-directory',
		'/srv/app',
		'-f',
		'/srv/app/compose.yaml',
		'-f',
		'/srv/app/prod.yml',
		'-p',
		'shop',
	]);
});
