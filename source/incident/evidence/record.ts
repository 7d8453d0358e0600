import type {TimelineEvent} from '../timeline.js';

/** A capture as the timeline records it (evidence_capture_complete). */
export interface CaptureRecord {
	time: string;
	user: string;
	captureId: string;
	bundle: string;
	sha256: string;
	items: number;
	failed: number;
	redact: boolean;
	fellBack: boolean;
}

/** The newest completed capture in the timeline, or null: what Stabilise checks before changing anything. */
export function lastCapture(events: readonly TimelineEvent[]): CaptureRecord | null {
	for (let i = events.length - 1; i >= 0; i--) {
		const event = events[i]!;
		if (event.type !== 'evidence_capture_complete') continue;
		const data = event.data;
		return {
			time: event.time,
			user: event.operator.user,
			captureId: String(data['captureId'] ?? ''),
			bundle: String(data['bundle'] ?? ''),
			sha256: String(data['sha256'] ?? ''),
			items: Number(data['items'] ?? 0),
			failed: Array.isArray(data['failed']) ? data['failed'].length : Number(data['failed'] ?? 0),
			redact: data['redact'] !== false,
			fellBack: data['fellBack'] !== null && data['fellBack'] !== undefined,
		};
	}
	return null;
}
