// Real integration test of the test-stack helper and the fixture releases: needs the offline
// engine (scripts/ensure-engine.mjs / scripts/engine-up.sh).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createStack, ensureTestReleases, parsePs } from './stack.js';
import type { Stack } from './stack.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('test stack on the real engine', { timeout: 240_000 }, () => {
  let stack: Stack | undefined;

  before(async () => {
    await ensureTestReleases();
    stack = await createStack({ tag: 'v1.3.9' });
  });

  after(async () => {
    await stack?.down();
  });

  it('parses both shapes of `compose ps --format json`', () => {
    const row = { Service: 'web', State: 'running', Health: 'healthy' };
    assert.deepEqual(parsePs(JSON.stringify([row, row])), [row, row]);
    assert.deepEqual(parsePs(`${JSON.stringify(row)}\n${JSON.stringify(row)}\n`), [row, row]);
    assert.deepEqual(parsePs('\n'), []);
  });

  it('runs v1.3.9 healthy and serves /health with its release', async () => {
    assert.ok(stack);
    await stack.up({ wait: true });
    const ps = parsePs((await stack.compose(['ps', '--format', 'json'])).stdout);
    const web = ps.find((entry) => entry.Service === 'web');
    assert.ok(web, `no web in ${JSON.stringify(ps)}`);
    assert.equal(web.State, 'running');
    assert.equal(web.Health, 'healthy');
    assert.deepEqual(ps.map((entry) => entry.Service).sort(), ['db', 'web', 'worker']);

    const res = await fetch(`http://127.0.0.1:${stack.webPort}/health`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /ok/);
    assert.match(body, /v1\.3\.9/);
  });

  it('crash-loops web with a panic on v1.4.0', async () => {
    assert.ok(stack);
    await stack.setTag('v1.4.0');
    assert.equal(stack.env.IMAGE_TAG, 'v1.4.0');
    await stack.up({ wait: false });

    const id = (await stack.compose(['ps', '-a', '-q', 'web'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{12,}$/, 'web container id');
    const deadline = Date.now() + 20_000;
    let restarts = 0;
    let logs = '';
    while (Date.now() < deadline) {
      const inspect = await execFileAsync('docker', ['inspect', '--format', '{{.RestartCount}} {{.Config.Image}}', id]);
      const [count, image] = inspect.stdout.trim().split(' ');
      assert.equal(image, '127.0.0.1:5000/rct/app:v1.4.0');
      restarts = Number(count);
      const out = await execFileAsync('docker', ['logs', id], { maxBuffer: 16 * 1024 * 1024 });
      logs = out.stdout + out.stderr;
      if (restarts > 0 && logs.includes('panic:')) break;
      await sleep(500);
    }
    assert.ok(restarts > 0, `RestartCount stayed ${restarts}`);
    assert.match(logs, /panic: runtime error: invalid memory address or nil pointer dereference/);

    // The worker is fine on the broken release.
    const ps = parsePs((await stack.compose(['ps', '--format', 'json'])).stdout);
    assert.equal(ps.find((entry) => entry.Service === 'worker')?.State, 'running');
  });
});
