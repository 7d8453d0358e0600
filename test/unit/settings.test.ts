import assert from 'node:assert/strict';
import {test} from 'node:test';
import {ConsoleError} from '../../source/errors.js';
import {parseSettings} from '../../source/incident/settings.js';

test('no extension gives the documented defaults', () => {
	assert.deepEqual(parseSettings(null), {
		release: {variable: 'IMAGE_TAG', services: null, persist: 'env'},
		health: [],
		database: null,
		disk: {thresholdPercent: 80, retainReleases: 5},
	});
});

test('the design card example parses', () => {
	const settings = parseSettings({
		release: {variable: 'IMAGE_TAG', services: ['api', 'worker', 'web'], persist: 'override'},
		health: [
			{url: 'http://127.0.0.1:8080/health'},
			{url: 'http://127.0.0.1:8080/health/internal', headers: {Authorization: 'Bearer x'}, expect: {status: 204}},
		],
		database: {service: 'db', engine: 'postgres', migrations_table: 'schema_migrations'},
		disk: {threshold_percent: '90', retain_releases: 3},
	});
	assert.deepEqual(settings.release.services, ['api', 'worker', 'web']);
	assert.equal(settings.release.persist, 'override');
	assert.equal(settings.health[1]?.expectStatus, 204);
	assert.equal(settings.health[1]?.headers['Authorization'], 'Bearer x');
	assert.equal(settings.health[0]?.expectStatus, 200);
	assert.deepEqual(settings.database, {service: 'db', engine: 'postgres', migrationsTable: 'schema_migrations'});
	assert.deepEqual(settings.disk, {thresholdPercent: 90, retainReleases: 3});
});

const bad: Array<[string, unknown, RegExp]> = [
	['an unknown top-level key', {relase: {}}, /x-rollback-console\.relase: unknown key/],
	['an unknown nested key', {disk: {threshold: 3}}, /x-rollback-console\.disk\.threshold: unknown key/],
	['a bad persist mode', {release: {persist: 'git'}}, /release\.persist: expected env, override or none, got "git"/],
	['a threshold over 100', {disk: {threshold_percent: 120}}, /disk\.threshold_percent: expected a whole number from 1 to 100/],
	['a health URL that is not http', {health: [{url: 'ftp://x/'}]}, /health\[0\]\.url: "ftp:\/\/x\/" is not an http\(s\) URL/],
	['a variable name with a dash', {release: {variable: 'IMAGE-TAG'}}, /release\.variable: "IMAGE-TAG" is not a variable name/],
	['services that are not a list', {release: {services: 'web'}}, /release\.services: expected a list/],
];

for (const [what, extension, message] of bad) {
	test(`${what} is a one-line usage error`, () => {
		assert.throws(
			() => parseSettings(extension),
			(error: unknown) => error instanceof ConsoleError && error.exitCode === 2 && message.test(error.message) && !error.message.includes('\n'),
		);
	});
}
