// A ConsoleModel for UI tests: the real log store and a real timeline in a temp dir, with
// services driven by the test instead of an engine.
import {mkdtempSync, rmSync} from 'node:fs';
import {mkdir, writeFile} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {captureEvidence} from '../../source/incident/evidence/capture.js';
import type {EvidencePlan} from '../../source/incident/evidence/types.js';
import type {HealthProbe} from '../../source/incident/health.js';
import {LogStore} from '../../source/incident/log-store.js';
import type {ServiceStatus} from '../../source/incident/service-status.js';
import type {ServicesSnapshot} from '../../source/incident/services-feed.js';
import {parseSettings, type Settings} from '../../source/incident/settings.js';
import {Timeline} from '../../source/incident/timeline.js';
import type {ConsoleModel} from '../../source/ui/console-model.js';

export function serviceRow(service: string, partial: Partial<ServiceStatus> = {}): ServiceStatus {
	const ok = partial.ok ?? (partial.state ?? 'running') === 'running';
	return {
		service,
		containers: [],
		state: 'running',
		health: 'none',
		restartCount: 0,
		exitCode: null,
		uptimeSeconds: 60,
		image: {configured: `127.0.0.1:5000/shop/app:v1.3.9`, tag: 'v1.3.9', id: 'sha256:aaa', digest: null},
		healthcheck: false,
		crashLoop: null,
		ok,
		...partial,
	};
}

export interface FakeModel {
	model: ConsoleModel;
	dir: string;
	setServices(services: ServiceStatus[], change?: Partial<ServicesSnapshot>): void;
	/** Where saveFile wrote, by name. */
	saved: Map<string, string>;
	cleanup(): void;
}

/** An in-memory evidence item: its text, or why it fails; `gate` holds it until the test lets it go. */
export interface FakeEvidenceItem {
	file: string;
	what?: string;
	text?: string;
	error?: string;
	gate?: Promise<void>;
	estimate?: number;
}

const defaultEvidence: FakeEvidenceItem[] = [
	{file: 'compose/config.json', what: 'the resolved Compose configuration', text: '{"services":{"web":{"environment":{"DB_PASSWORD":"pw"}}}}'},
	{file: 'containers/shop-web-1/log.txt', what: 'full log of shop-web-1 with timestamps', text: 'connecting to postgres://app:pw@db/app\npanic: nil pointer\n', estimate: 2_400_000},
	{file: 'engine/info.json', what: 'Engine info', text: '{"Name":"prod-1"}'},
];

/** A plan of in-memory items that the real capture machinery runs. */
export function fakeEvidencePlan(items: FakeEvidenceItem[], options: {settings?: Settings} = {}): EvidencePlan {
	return {
		project: 'shop',
		items: items.map((item, i) => ({
			id: `fake-${i}`,
			group: item.file.startsWith('containers/') ? 'container' : item.file.startsWith('compose/') ? 'compose' : 'engine',
			what: item.what ?? item.file,
			how: `test: ${item.file}`,
			file: item.file,
			estimate: item.estimate ?? 1000,
			async collect(signal) {
				// Like the real collectors, a held item lets go when the capture is stopped.
				await Promise.race([item.gate, new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), {once: true}))]);
				if (item.error) throw new Error(item.error);
				const text = item.text ?? '';
				return item.file.endsWith('.json') ? {json: JSON.parse(text) as unknown} : {text};
			},
		})),
		estimateBytes: items.reduce((sum, item) => sum + (item.estimate ?? 1000), 0),
		estimateIncomplete: false,
		logCapBytes: 25 * 1024 * 1024,
		containers: items.filter(item => item.file.startsWith('containers/')).length,
		images: 0,
		healthUrls: options.settings?.health.length ?? 0,
		ciLog: null,
		extraPatterns: [],
	};
}

export async function fakeModel(
	options: {
		services?: ServiceStatus[];
		settings?: unknown;
		probes?: HealthProbe[];
		readOnly?: boolean;
		dir?: string;
		evidence?: FakeEvidenceItem[];
		/** planEvidence fails with this. */
		evidencePlanError?: string;
	} = {},
): Promise<FakeModel> {
	const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'rc-ui-'));
	const timeline = await Timeline.open(path.join(dir, 'timeline.jsonl'), {
		operator: {user: 'tester', sshConnection: '127.0.0.1 50000 127.0.0.1 22', pid: process.pid},
	});
	const listeners = new Set<(s: ServicesSnapshot) => void>();
	let snapshot: ServicesSnapshot = {
		services: options.services ?? [],
		mode: 'live',
		updatedAt: Date.now(),
		rising: new Set(),
		lastEvent: null,
		error: null,
	};
	const saved = new Map<string, string>();
	const settings: Settings = parseSettings(options.settings ?? null);
	const model: ConsoleModel = {
		project: {name: 'shop', workingDir: '/srv/shop'},
		host: 'prod-1',
		engine: {version: '20.10.24', address: 'unix:///var/run/docker.sock'},
		incident: {id: '20261122-030000-abcd', dir, openedAt: new Date().toISOString(), resumed: false},
		readOnly: options.readOnly ?? false,
		readOnlyReason: null,
		settings,
		services: {snapshot: () => snapshot, subscribe: listener => (listeners.add(listener), () => listeners.delete(listener))},
		logs: new LogStore(5000),
		timeline,
		probeHealth: async () => options.probes ?? [],
		async planEvidence() {
			if (options.evidencePlanError) throw new Error(options.evidencePlanError);
			return fakeEvidencePlan(options.evidence ?? defaultEvidence, {settings});
		},
		captureEvidence: ({record, onNotice}, onProgress, signal) =>
			captureEvidence(fakeEvidencePlan(options.evidence ?? defaultEvidence, {settings}), {
				incident: {id: '20261122-030000-abcd', dir},
				operator: {user: 'tester', host: 'prod-1', sshConnection: null, sudoUser: null},
				record,
				redact: true,
				onProgress,
				...(onNotice ? {onNotice} : {}),
				...(signal ? {signal} : {}),
				env: {ROLLBACK_CONSOLE_FALLBACK_DIR: path.join(dir, 'fallback')},
			}),
		async saveFile(name, text) {
			const file = path.join(dir, name);
			await mkdir(path.dirname(file), {recursive: true});
			await writeFile(file, text, {mode: 0o600});
			saved.set(name, file);
			return file;
		},
	};
	return {
		model,
		dir,
		saved,
		setServices(services, change = {}) {
			snapshot = {...snapshot, services, ...change, updatedAt: Date.now()};
			for (const listener of listeners) listener(snapshot);
		},
		cleanup: () => rmSync(dir, {recursive: true, force: true}),
	};
}

/** Waits until `predicate` holds for the last frame (Ink renders asynchronously). */
export async function frameWhere(lastFrame: () => string | undefined, predicate: (frame: string) => boolean, timeoutMs = 2000): Promise<string> {
	const start = Date.now();
	for (;;) {
		const frame = lastFrame() ?? '';
		if (predicate(frame)) return frame;
		if (Date.now() - start > timeoutMs) throw new Error(`no frame matched within ${timeoutMs} ms; last frame:\n${frame}`);
		await new Promise(resolve => setTimeout(resolve, 10));
	}
}
