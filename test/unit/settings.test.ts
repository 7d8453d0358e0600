import assert from 'node:assert/strict';
import {test} from 'node:test';
import {ConsoleError} from '../../source/errors.js';
import {parseSettings} from '../../source/incident/settings.js';
import {defaultErrorPatterns} from '../../source/incident/verify/settings.js';

test('no extension gives the documented defaults', () => {
	assert.deepEqual(parseSettings(null), {
		release: {variable: 'IMAGE_TAG', services: null, persist: 'env', pullTimeoutMs: 600_000},
		health: [],
		database: null,
		disk: {thresholdPercent: 80, retainReleases: 5},
		status: {crashWindowMs: 300_000},
		verify: {
			windowMs: 300_000,
			errorFactor: 1.5,
			minErrorRate: 2,
			errorPatterns: defaultErrorPatterns,
			health: {tries: 12, intervalMs: 10_000},
		},
		smoke: [],
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
	['a crash window that is not a duration', {status: {crash_window: 'soon'}}, /status\.crash_window: expected a duration such as 5m, 90s or 500ms, got "soon"/],
	['a crash window under a second', {status: {crash_window: '10ms'}}, /status\.crash_window: expected a duration from 1s to 24h/],
	['zero health tries', {verify: {health: {tries: 0}}}, /verify\.health\.tries: expected a whole number from 1 to 1000, got 0/],
	['an error factor under 1', {verify: {error_factor: 0.5}}, /verify\.error_factor: expected a number from 1 to 1000/],
	['a smoke check without a URL', {smoke: [{method: 'GET'}]}, /smoke\[0\]\.url: required/],
	['a smoke check with body and json', {smoke: [{url: 'http://127.0.0.1/', body: 'x', json: {}}]}, /smoke\[0\]: give either body or json, not both/],
	['a flow without steps', {smoke: [{flow: 'auth', steps: []}]}, /smoke\[0\]\.steps: expected a list of requests/],
	['a saved value from nowhere', {smoke: [{flow: 'auth', steps: [{url: 'http://127.0.0.1/', save: {t: {body: 'x'}}}]}]}, /smoke\[0\]\.steps\[0\]\.save\.t: expected one of \{json: PATH\}/],
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
