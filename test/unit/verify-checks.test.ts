import assert from 'node:assert/strict';
import {test} from 'node:test';
import {parseDuration} from '../../source/incident/duration.js';
import {errorMatcher, ratePerMinute} from '../../source/incident/verify/error-lines.js';
import {healthcheckUrls, verifyTargets} from '../../source/incident/verify/health-urls.js';
import {defaultErrorPatterns} from '../../source/incident/verify/settings.js';
import {fill, jsonPath} from '../../source/incident/verify/templates.js';
import {sparkline} from '../../source/presentation/sparkline.js';

test('health URLs from healthchecks: curl and wget on this box only, exec and shell forms', () => {
	assert.deepEqual(healthcheckUrls(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/health']), ['http://127.0.0.1:8080/health']);
	assert.deepEqual(healthcheckUrls(['CMD-SHELL', 'curl -fsS http://localhost:3000/healthz || exit 1']), ['http://localhost:3000/healthz']);
	assert.deepEqual(healthcheckUrls(['CMD-SHELL', 'curl -f "http://127.0.0.1:9000/ready?deep=1" && true']), ['http://127.0.0.1:9000/ready?deep=1']);
	assert.deepEqual(healthcheckUrls(['CMD', 'test', '-f', '/data/db']), [], 'not an HTTP check');
	assert.deepEqual(healthcheckUrls(['CMD-SHELL', 'curl -f http://db.internal:8080/health']), [], 'another host is not ours to call');
	assert.deepEqual(healthcheckUrls(['NONE']), []);
	const config = {
		name: 'shop',
		services: {
			web: {image: 'a', build: false, healthcheck: true, healthcheckTest: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/health'], networkMode: 'host', environment: {}, volumes: []},
			api: {image: 'a', build: false, healthcheck: true, healthcheckTest: ['CMD-SHELL', 'curl -f http://127.0.0.1:8080/health'], networkMode: 'host', environment: {}, volumes: []},
		},
		volumes: {},
		extension: null,
	};
	assert.deepEqual(verifyTargets([], config).map(t => [t.url, t.from]), [['http://127.0.0.1:8080/health', "api's healthcheck"]], 'one probe per URL');
	assert.deepEqual(verifyTargets([{url: 'http://127.0.0.1:1/x', headers: {}, expectStatus: 204, timeoutMs: 100}], config).map(t => t.from), ['configured'], 'configured URLs win');
});

test('error lines: JSON by level (names and pino numbers), text by the patterns; info is not an error', () => {
	const isError = errorMatcher(defaultErrorPatterns);
	for (const line of ['{"level":"error","msg":"x"}', '{"severity":"FATAL"}', '{"level":50}', '2026-11-22T03:00:00Z level=error msg="db down"', 'ERROR [main] boom', 'panic: runtime error: nil map']) {
		assert.equal(isError(line), true, line);
	}
	for (const line of ['{"level":"info","msg":"error budget ok"}', '{"level":30}', 'level=info msg="0 errors"', 'handled an error gracefully', '127.0.0.1:5000: response:200']) {
		assert.equal(isError(line), false, line);
	}
	assert.equal(ratePerMinute(3, 30_000), 6);
	assert.equal(ratePerMinute(1, 0), 60, 'a span under a second counts as one second');
});

test('templates: ${VAR} from the environment ($$ as compose writes it), {{saved}} from the flow, JSON paths', () => {
	assert.deepEqual(fill('Bearer $${TOKEN}', {TOKEN: 't'}, {}), {value: 'Bearer t', missing: [], unsaved: []});
	assert.deepEqual(fill('Bearer ${TOKEN}', {}, {}).missing, ['TOKEN']);
	assert.deepEqual(fill('/projects/{{id}}?u={{ run }}', {}, {id: '7', run: 'r1'}).value, '/projects/7?u=r1');
	assert.deepEqual(fill('{{nope}}', {}, {}).unsaved, ['nope']);
	assert.equal(jsonPath({data: {items: [{id: 4}]}}, 'data.items[0].id'), 4);
	assert.equal(jsonPath({token: 'x'}, '$.token'), 'x');
	assert.equal(jsonPath({a: 1}, 'b.c'), undefined);
});

test('durations and the sparkline', () => {
	assert.equal(parseDuration('5m'), 300_000);
	assert.equal(parseDuration('1m30s'), 90_000);
	assert.equal(parseDuration('250ms'), 250);
	assert.equal(parseDuration('12'), 12_000);
	assert.equal(parseDuration('soon'), null);
	assert.equal(sparkline([0, 0, 0], 10, 2), '▁▁▁');
	assert.equal(sparkline([0, 1, 2, 4], 10, 2), '▁▃▅█');
	assert.equal(sparkline([1, 2, 3, 4, 5], 3), '▅▇█', 'the last `width` values');
});

test('a header compose filled with a blank gets its ${VAR} back; one it filled, or an escaped one, stays', async () => {
	const {restoreBlanked} = await import('../../source/incident/verify/blanked-headers.js');
	assert.equal(restoreBlanked('Bearer ${OPERATOR_TOKEN}', 'Bearer '), 'Bearer ${OPERATOR_TOKEN}');
	assert.equal(restoreBlanked('Bearer ${OPERATOR_TOKEN}', 'Bearer s3cret'), 'Bearer s3cret');
	assert.equal(restoreBlanked('Bearer $${OPERATOR_TOKEN}', 'Bearer $${OPERATOR_TOKEN}'), 'Bearer $${OPERATOR_TOKEN}');
	assert.equal(restoreBlanked('plain', 'plain'), 'plain');
	assert.equal(restoreBlanked(undefined, 'x'), 'x');
});
