import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {ConsoleError} from '../../source/errors.js';
import {
	isSecretEnvName,
	isSecretTextName,
	LineRedactor,
	patternProblem,
	redact,
	redactEnv,
	redactJson,
} from '../../source/incident/redaction.js';
import {parseSettings} from '../../source/incident/settings.js';

const PEM = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEpAIBAAKCAQEA0planted', 'c2VjcmV0bGluZXR3bw==', '-----END RSA PRIVATE KEY-----'].join('\n');

describe('each rule', () => {
	const cases: Array<[string, string, string, Record<string, number>]> = [
		['URL credentials keep the user', 'db postgres://app:s3cr3t@db:5432/app up', 'db postgres://app:***@db:5432/app up', {'url-credentials': 1}],
		['a token as the URL user goes', 'clone https://ghp_0123456789abcdefghij@github.com/x', 'clone https://***@github.com/x', {'url-credentials': 1}],
		['a bearer token', 'Authorization: Bearer eyJhbGciOi.J9abc.def', 'Authorization: Bearer ***', {bearer: 1}],
		['a bearer token anywhere', 'retrying with bearer abcdefgh12345678 now', 'retrying with bearer *** now', {bearer: 1}],
		['Authorization with another scheme', 'authorization: Basic dXNlcjpwYXNz', 'authorization: Basic ***', {authorization: 1}],
		['Authorization without a scheme', '"Authorization":"tok_live_abc"', '"Authorization":"***"', {authorization: 1}],
		['Cookie', 'Cookie: session=abc123; theme=dark', 'Cookie: ***', {cookie: 1}],
		['Set-Cookie', 'Set-Cookie: sid=xyz; Path=/; HttpOnly', 'Set-Cookie: ***', {cookie: 1}],
		['an AWS access key id', 'using AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A', 'using AKIA*** and ASIA***', {'aws-access-key': 2}],
		['password= in a log line', 'db login user=app password=hunter2 ok', 'db login user=app password=*** ok', {'secret-arg': 1}],
		['--password= and --token value', 'exec app --password=hunter2 --token abc123 --name x', 'exec app --password=*** --token *** --name x', {'secret-arg': 2}],
		['a secret in a query string', 'GET /cb?code=1&access_token=abc&x=1', 'GET /cb?code=1&access_token=***&x=1', {'secret-arg': 1}],
		['JSON with secret keys', '{"password":"x1","api_key": "y2","count":3}', '{"password":"***","api_key": "***","count":3}', {'secret-arg': 2}],
		['a private key block', `key ${PEM} done`, 'key -----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY----- done', {'private-key': 1}],
		['a cut-off private key block', `-----BEGIN PRIVATE KEY-----\nMIIEvQ\nabc`, '-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----', {'private-key': 1}],
	];
	for (const [name, input, output, counts] of cases) {
		test(name, () => {
			assert.deepEqual(redact(input), {text: output, counts});
		});
	}

	test('configured patterns, counted apart', () => {
		assert.deepEqual(redact('order tok_ab12cd34 for acct-9911', {extraPatterns: ['tok_[a-z0-9]+', 'acct-\\d+']}), {
			text: 'order *** for ***',
			counts: {'config-pattern': 2},
		});
	});

	test('redacting twice changes nothing more and counts nothing more', () => {
		const once = redact(`postgres://a:b@h Authorization: Bearer abcdefgh1234 password=x AKIAIOSFODNN7EXAMPLE ${PEM}`);
		assert.deepEqual(redact(once.text), {text: once.text, counts: {}});
	});
});

test('no false positives on ordinary lines', () => {
	const ordinary = [
		'key_count=3',
		'GET /api/keys HTTP/1.1 200',
		'GET /api/keys/42 key=value-free-text',
		'monkey=1 keyboard=us passenger=2 author=jane',
		'token_count=4 tokens=12 keys=5',
		'error: token expired, please log in',
		'the Bearer token is sent by the client',
		'ssh://git@github.com/org/repo.git',
		'mailto:ops@example.com',
		'2026-11-22T03:12:09.123456789Z stdout level=info role=web release=v1.3.9 msg="listening on 127.0.0.1:8080"',
		'127.0.0.1:55102: url:/health',
		'cookies enabled: true',
		'SandboxKey: /var/run/docker/netns/abc',
		'-----BEGIN CERTIFICATE-----',
	];
	for (const line of ordinary) assert.deepEqual(redact(line), {text: line, counts: {}}, line);
});

test('names: broad for environment variables, narrow in free text', () => {
	for (const name of ['DB_PASSWORD', 'PGPASSWORD', 'API_KEY', 'AUTH_TOKEN', 'SECRET_KEY_BASE', 'AWS_SECRET_ACCESS_KEY', 'SENTRY_DSN', 'PRIVATE_KEY', 'CREDENTIALS', 'SSH_AUTH_SOCK']) {
		assert.ok(isSecretEnvName(name), name);
	}
	for (const name of ['PATH', 'ROLE', 'PORT', 'DATABASE_URL', 'HOSTNAME', 'SandboxKey']) assert.ok(!isSecretEnvName(name), name);
	for (const name of ['password', '--password', 'db_password', 'api_key', 'apiKey', 'access_token', 'client_secret', 'pass', 'x-auth']) assert.ok(isSecretTextName(name), name);
	for (const name of ['key', 'key_count', 'token_count', 'keys', 'monkey', 'author', 'passenger', 'bypass']) assert.ok(!isSecretTextName(name), name);
});

test('environments: secret names are masked, other values still get the content rules', () => {
	const env = ['DB_PASSWORD=demo-secret-password', 'DATABASE_URL=postgres://app:pw@db/app', 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE', 'SENTRY_DSN=https://sentry.io/1', 'EMPTY_TOKEN=', 'PATH=/bin', 'key_count=3'];
	assert.deepEqual(redactEnv(env), {
		text: ['DB_PASSWORD=***', 'DATABASE_URL=postgres://app:***@db/app', 'AWS_ACCESS_KEY_ID=AKIA***', 'SENTRY_DSN=***', 'EMPTY_TOKEN=', 'PATH=/bin', 'key_count=***'],
		counts: {'secret-env': 3, 'url-credentials': 1, 'aws-access-key': 1},
	});
	assert.deepEqual(redactEnv({API_TOKEN: 'x', ROLE: 'web', UNSET_SECRET: null}), {text: {API_TOKEN: '***', ROLE: 'web', UNSET_SECRET: null}, counts: {'secret-env': 1}});
});

test('inspect-like JSON: Env, Cmd arguments, labels and headers by name; numbers and other keys left alone', () => {
	const inspect = {
		Id: 'abc',
		Config: {
			Env: ['DB_PASSWORD=pw', 'TLS_KEY=' + PEM, 'ROLE=web'],
			Cmd: ['app', '--password', 'hunter2', '--db-token=abc', '--port', '8080'],
			Labels: {'com.example.api-key': 'k1', 'com.docker.compose.service': 'web'},
		},
		NetworkSettings: {SandboxKey: '/var/run/docker/netns/x'},
		State: {Health: {Log: [{Output: 'connecting to redis://:p4ss@127.0.0.1:6379', ExitCode: 0}]}},
		x: {health: [{headers: {Authorization: 'Bearer abcdefghijkl'}}]},
		redacted: {'secret-env': 2, 'private-key': 1},
	};
	const {text, counts} = redactJson(inspect);
	assert.deepEqual(text.Config.Env, ['DB_PASSWORD=***', 'TLS_KEY=-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----', 'ROLE=web']);
	assert.deepEqual(text.Config.Cmd, ['app', '--password', '***', '--db-token=***', '--port', '8080']);
	assert.deepEqual(text.Config.Labels, {'com.example.api-key': '***', 'com.docker.compose.service': 'web'});
	assert.equal(text.NetworkSettings.SandboxKey, '/var/run/docker/netns/x');
	assert.equal(text.State.Health.Log[0]!.Output, 'connecting to redis://:***@127.0.0.1:6379');
	assert.equal(text.x.health[0]!.headers.Authorization, 'Bearer ***');
	assert.deepEqual(text.redacted, {'secret-env': 2, 'private-key': 1}, 'our own counts are numbers, not secrets');
	assert.deepEqual(counts, {'secret-env': 2, 'private-key': 1, 'secret-arg': 2, 'url-credentials': 1, bearer: 1});
	assert.ok(!JSON.stringify(text).includes('hunter2') && !JSON.stringify(text).includes('MIIE'));
	assert.equal(inspect.Config.Env[0], 'DB_PASSWORD=pw', 'the input is not changed');
});

test('a log, line by line: a private key block spanning lines is masked to its END line', () => {
	const redactor = new LineRedactor();
	const lines = ['starting', 'loaded key:', ...PEM.split('\n'), 'after password=x', 'done'].map(line => redactor.line(line));
	assert.deepEqual(lines, ['starting', 'loaded key:', '-----BEGIN RSA PRIVATE KEY-----***', '***', '***', '***-----END RSA PRIVATE KEY-----', 'after password=***', 'done']);
	assert.deepEqual(redactor.counts, {'private-key': 1, 'secret-arg': 1});
	// A block whose END never comes stops masking after a while rather than eat the whole log.
	const lost = new LineRedactor();
	lost.line('-----BEGIN PRIVATE KEY-----');
	const after = Array.from({length: 300}, (_, i) => lost.line(`line ${i}`));
	assert.equal(after[0], '***');
	assert.equal(after.at(-1), 'line 299');
});

test('a log a block of lines at a time: the same text and counts as line by line', () => {
	// Lines where a rule could reach past a line's end (bearer, Authorization, a cookie before
	// its value on the next line), a key block, names in values, masked values, configured patterns.
	const lines = [
		'2026-11-27T10:00:00.000000000Z stdout level=info user=alice token=abc123 url=https://x/?access_token=y&n=1',
		'2026-11-27T10:00:00.000000001Z stderr retrying with bearer',
		'abcdefgh12345678 on the next line; Authorization:',
		'Basic dXNlcjpwYXNz cookie',
		': sid=1 --password hunter2 --name x --token=*** key_count=3 monkey=1 api_key: "k"',
		'postgres://app:s3cr3t@db:5432/app AKIAIOSFODNN7EXAMPLE tok_ab12cd34 acct-9911 passenger=2',
		'',
		'\tdsn=postgres://u:p@h/db SECRET=x;auth=y',
		...PEM.split('\n'),
		'after the key password=x',
	];
	for (const extraPatterns of [undefined, ['tok_[a-z0-9]+', '^\\d{4}-', 'x\\n?a']]) {
		const options = extraPatterns ? {extraPatterns} : {};
		const byLine = new LineRedactor(options);
		const expected = lines.map(line => `${byLine.line(line)}\n`).join('');
		for (const size of [1, 2, 3, 5, lines.length]) {
			const byBlock = new LineRedactor(options);
			let text = '';
			for (let i = 0; i < lines.length; i += size) text += byBlock.block(lines.slice(i, i + size).map(line => `${line}\n`).join(''));
			assert.equal(text, expected, `blocks of ${size}, patterns ${extraPatterns}`);
			assert.deepEqual(byBlock.counts, byLine.counts);
		}
		assert.ok(!expected.includes('hunter2') && !expected.includes('s3cr3t') && !expected.includes('MIIE'));
	}
});

test('x-rollback-console.redact.patterns: each must compile and match something', () => {
	assert.deepEqual(parseSettings({redact: {patterns: ['tok_[a-z0-9]{8}', 'acct-\\d+']}}).redact, {patterns: ['tok_[a-z0-9]{8}', 'acct-\\d+']});
	assert.equal(parseSettings(null).redact, undefined, 'absent unless set');
	assert.throws(
		() => parseSettings({redact: {patterns: ['ok', '([unclosed']}}),
		(error: unknown) => error instanceof ConsoleError && /^x-rollback-console\.redact\.patterns\[1\]: not a valid regular expression/.test(error.message),
	);
	assert.throws(() => parseSettings({redact: {patterns: ['a*']}}), /redact\.patterns\[0\]: matches the empty string/);
	assert.throws(() => parseSettings({redact: {patterns: 'x'}}), /redact\.patterns: expected a list/);
	assert.throws(() => parseSettings({redact: {pattern: ['x']}}), /redact\.pattern: unknown key/);
	assert.equal(patternProblem('x+'), null);
});
