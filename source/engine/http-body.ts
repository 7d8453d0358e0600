/**
 * A response's body up to `limitBytes`, never past `deadline` (a performance.now() time): a
 * server trickling it out is cut off there (`late`), and the rest is cancelled. A body that
 * breaks off gives what arrived.
 */
export async function readBody(response: Response, deadline: number, limitBytes: number): Promise<{text: string; late: boolean; bytes: number}> {
	if (!response.body) return {text: '', late: false, bytes: 0};
	const reader = response.body.getReader();
	const decoder = new TextDecoder();
	let text = '';
	let bytes = 0;
	let late = false;
	let timer: NodeJS.Timeout | undefined;
	const deadlinePassed = new Promise<null>(resolve => {
		timer = setTimeout(() => resolve(null), Math.max(0, deadline - performance.now()));
	});
	try {
		while (bytes < limitBytes) {
			const chunk = await Promise.race([reader.read(), deadlinePassed]);
			if (chunk === null) late = true;
			if (chunk === null || chunk.done) break;
			bytes += chunk.value.byteLength;
			text += decoder.decode(chunk.value, {stream: true});
		}
	} catch {
		// The body broke off: what arrived is still the answer.
	} finally {
		clearTimeout(timer);
		void reader.cancel().catch(() => {});
	}
	return {text, late, bytes};
}
