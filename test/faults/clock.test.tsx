// Fault 11: the machine's clock jumps (an NTP step, a container "started in the future", an
// incident opened "later" than now): durations and windows are never negative or absurd.
// No faketime: the inputs carry the future timestamps a stepped clock produces.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {render} from 'ink-testing-library';
import type {ComposeConfig, ContainerEvent, ContainerInfo} from '../../source/engine/types.js';
import {crashLoopOf} from '../../source/incident/crash-loop.js';
import {buildServiceStatus} from '../../source/incident/service-status.js';
import {formatDuration} from '../../source/presentation/format.js';
import {Header} from '../../source/ui/components/header.js';
import {ServicesPane} from '../../source/ui/components/services-pane.js';

const now = Date.parse('2026-11-22T03:00:00Z');
const hour = 3_600_000;
const config: ComposeConfig = {
	name: 'shop',
	services: {web: {image: 'app:v1', build: false, healthcheck: false, networkMode: 'host', environment: {}, volumes: []}},
	volumes: {},
	extension: null,
};

function container(partial: Partial<ContainerInfo> = {}): ContainerInfo {
	return {
		id: 'web-id',
		name: 'shop-web-1',
		project: 'shop',
		service: 'web',
		number: 1,
		state: 'running',
		health: 'none',
		restartCount: 3,
		exitCode: null,
		oomKilled: false,
		startedAt: new Date(now + hour).toISOString(),
		finishedAt: new Date(now + hour - 1000).toISOString(),
		createdAt: new Date(now + hour - 60_000).toISOString(),
		image: 'app:v1',
		imageId: 'sha256:app',
		labels: {},
		...partial,
	};
}

const negative = /(^|[\s(])-\d|NaN|Infinity/;

test('durations: negative, NaN and huge inputs never print a negative or absurd value', () => {
	assert.equal(formatDuration(-3600), '0s');
	assert.equal(formatDuration(Number.NaN), '-');
	assert.equal(formatDuration(Number.POSITIVE_INFINITY), '-');
	assert.equal(formatDuration(400 * 86_400), '400d00h');
});

test('a container started an hour "in the future": uptime 0, not negative, in the status and on screen', async () => {
	const [web] = buildServiceStatus(config, [container({restartCount: 0, finishedAt: null})], new Map(), now);
	assert.equal(web!.uptimeSeconds, 0);
	const snapshot = {services: [web!], mode: 'live' as const, updatedAt: now, rising: new Set<string>(), lastEvent: null, error: null};
	const {lastFrame, unmount} = render(<ServicesPane snapshot={snapshot} now={now} selected="web" allServices={false} rows={3} width={90} />);
	const frame = lastFrame() ?? '';
	unmount();
	assert.match(frame, /web\s+running .* 0s/);
	assert.doesNotMatch(frame, negative, frame);
});

test('the incident opened "later" than now, and an Engine down "since" the future: the header says 0s', () => {
	const {lastFrame, unmount} = render(
		<Header project="shop" host="prod-1" engineVersion="20.10" incidentId="x" openedAt={new Date(now + hour).toISOString()} now={now} mode="live" readOnly={false} engineDown={{since: now + hour}} />,
	);
	const frame = lastFrame() ?? '';
	unmount();
	assert.match(frame, /\(0s\)/);
	assert.match(frame, /Engine unreachable \(0s\)/);
	assert.doesNotMatch(frame, negative, frame);
});

test('restarts recorded before the clock stepped back an hour: the crash reason names no negative time', () => {
	const events: ContainerEvent[] = [1, 2, 3].map(i => ({
		action: 'die',
		containerId: 'web-id',
		container: 'shop-web-1',
		service: 'web',
		time: now + hour - i * 1000,
		exitCode: 2,
	})) as unknown as ContainerEvent[];
	const loop = crashLoopOf(container({state: 'restarting'}), events, 5 * 60_000, now);
	assert.doesNotMatch(JSON.stringify(loop), /"-\d/, JSON.stringify(loop));
	if (loop) assert.doesNotMatch(loop.reason, negative);
});
