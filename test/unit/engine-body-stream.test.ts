// The capture reads each log's HTTP body straight off the socket (engine-body-stream.ts): the
// bytes must be the body's, exactly, however the Engine chunks it and however the reads cut it.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {BodyDecoder, engineBody} from '../../source/engine/engine-body-stream.js';

let seed = 11;
const random = (n: number) => {
	seed = (seed * 1103515245 + 12345) % 2 ** 31;
	// The high bits: the generator's low ones repeat with a short period.
	return Math.floor((seed / 2 ** 31) * n);
};

/** `body` as a chunked HTTP body, in chunks of 1–`max` bytes, sizes in either case and some with extensions. */
function chunked(body: Buffer, max: number): Buffer {
	const parts: Buffer[] = [];
	for (let at = 0; at < body.length; ) {
		const size = Math.min(body.length - at, 1 + random(max));
		const hex = random(2) ? size.toString(16) : size.toString(16).toUpperCase();
		parts.push(Buffer.from(`${hex}${random(5) === 0 ? ';ext=1' : ''}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
		at += size;
	}
	parts.push(Buffer.from('0\r\n\r\n'));
	return Buffer.concat(parts);
}

function decodeInReads(decoder: BodyDecoder, wire: Buffer, reads: number): Buffer {
	const cuts = [...new Set(Array.from({length: reads}, () => random(wire.length)))].sort((a, b) => a - b);
	const out: Buffer[] = [];
	let from = 0;
	for (const cut of [...cuts, wire.length]) {
		out.push(decoder.push(wire.subarray(from, cut)));
		from = cut;
	}
	return Buffer.concat(out);
}

test('chunked bodies: the same bytes however the chunks and the reads fall', () => {
	const body = Buffer.from(Array.from({length: 5000}, (_, i) => (i * 7 + (i >> 3)) & 0xff));
	for (let i = 0; i < 300; i++) {
		const wire = Buffer.concat([chunked(body, 1 + random(600)), Buffer.from('ignored after the last chunk')]);
		const decoder = new BodyDecoder({chunked: true, length: null});
		assert.deepEqual(decodeInReads(decoder, wire, random(60)), body);
		assert.equal(decoder.done, true);
	}
	const cut = new BodyDecoder({chunked: true, length: null});
	cut.push(chunked(body, 100).subarray(0, 3000));
	assert.equal(cut.done, false, 'cut short: not done');
	assert.equal(cut.mayEnd, false);
	assert.throws(() => new BodyDecoder({chunked: true, length: null}).push(Buffer.from('zz\r\n')), /malformed/);
});

test('a Content-Length body, and one that ends with the connection', () => {
	const fixed = new BodyDecoder({chunked: false, length: 5});
	assert.equal(Buffer.concat([fixed.push(Buffer.from('abc')), fixed.push(Buffer.from('defgh'))]).toString(), 'abcde');
	assert.equal(fixed.done, true);
	const open = new BodyDecoder({chunked: false, length: null});
	assert.equal(open.push(Buffer.from('abc')).toString(), 'abc');
	assert.equal(open.mayEnd, true);
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-body-'));
after(() => rmSync(dir, {recursive: true, force: true}));

/** A one-answer server on a unix socket, like the Engine's. */
async function serve(answer: (socket: net.Socket, request: string) => void): Promise<{socketPath: string; close: () => void}> {
	const socketPath = path.join(dir, `s${random(1e9)}.sock`);
	const server = net.createServer(socket => {
		let request = '';
		socket.on('data', data => {
			request += String(data);
			if (request.includes('\r\n\r\n')) answer(socket, request);
		});
	});
	await new Promise<void>(resolve => server.listen(socketPath, resolve));
	return {socketPath, close: () => server.close()};
}

const collect = async (iterable: AsyncIterable<Buffer>) => {
	const parts: Buffer[] = [];
	for await (const part of iterable) parts.push(part);
	return Buffer.concat(parts);
};

test('engineBody: a chunked answer in many writes, an error answer, a connection lost midway, an abort', async () => {
	const body = Buffer.from('frame bytes \x00\x01\xff and more\n'.repeat(2000), 'latin1');
	const ok = await serve((socket, request) => {
		assert.match(request, /^GET \/containers\/x\/logs\?tail=all HTTP\/1\.1\r\n/);
		const wire = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nTransfer-Encoding: chunked\r\n\r\n'), chunked(body, 300)]);
		const write = (at: number) => {
			if (at >= wire.length) return;
			const next = at + 1 + random(5000);
			socket.write(wire.subarray(at, next), () => setImmediate(() => write(next)));
		};
		write(0);
	});
	assert.deepEqual(await collect(engineBody({socketPath: ok.socketPath}, '/containers/x/logs?tail=all', new AbortController().signal)), body);
	ok.close();

	const missing = await serve(socket => socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n{"message":"No such c: x"}\n  '));
	await assert.rejects(collect(engineBody({socketPath: missing.socketPath}, '/x', new AbortController().signal)), (error: unknown) => {
		assert.equal((error as {statusCode?: number}).statusCode, 404);
		assert.match(String(error), /No such c: x/);
		return true;
	});
	missing.close();

	const lost = await serve(socket => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'));
	await assert.rejects(collect(engineBody({socketPath: lost.socketPath}, '/x', new AbortController().signal)), /closed the connection midway/);
	lost.close();

	const hanging = await serve(socket => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'));
	const controller = new AbortController();
	const reading = collect(engineBody({socketPath: hanging.socketPath}, '/x', controller.signal));
	setTimeout(() => controller.abort(new Error('stop now')), 50);
	await assert.rejects(reading, /stop now/);
	hanging.close();

	await assert.rejects(collect(engineBody({socketPath: path.join(dir, 'none.sock')}, '/x', new AbortController().signal)), {code: 'ENOENT'});
});
