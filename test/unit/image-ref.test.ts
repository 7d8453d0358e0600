import assert from 'node:assert/strict';
import {test} from 'node:test';
import {digestFor, parseImageRef} from '../../source/engine/image-ref.js';

test('a registry with a port is not mistaken for a tag', () => {
	assert.deepEqual(parseImageRef('127.0.0.1:5000/rct/app:v1.4.0'), {
		registry: '127.0.0.1:5000',
		repository: 'rct/app',
		tag: 'v1.4.0',
		digest: null,
	});
	assert.deepEqual(parseImageRef('127.0.0.1:5000/rct/app'), {
		registry: '127.0.0.1:5000',
		repository: 'rct/app',
		tag: 'latest',
		digest: null,
	});
});

test('digests and tag+digest references split', () => {
	const digest = `sha256:${'a'.repeat(64)}`;
	assert.deepEqual(parseImageRef(`local/busybox@${digest}`), {registry: null, repository: 'local/busybox', tag: null, digest});
	assert.deepEqual(parseImageRef(`reg.example:443/x/y:v2@${digest}`), {registry: 'reg.example:443', repository: 'x/y', tag: 'v2', digest});
});

test('digestFor picks the digest of the referenced repository only', () => {
	const digests = ['127.0.0.1:5000/other/app@sha256:111', '127.0.0.1:5000/rct/app@sha256:222'];
	assert.equal(digestFor('127.0.0.1:5000/rct/app:v1.3.9', digests), 'sha256:222');
	assert.equal(digestFor('127.0.0.1:5000/missing/app:v1', digests), null);
	assert.equal(digestFor('busybox:latest', ['busybox@sha256:333']), 'sha256:333');
});
