import {useEffect, useState} from 'react';

/**
 * A number that changes when `subscribe`'s source does, at most once per `intervalMs`:
 * a flood of log batches becomes a few redraws a second, and key input stays responsive.
 */
export function useThrottledVersion(subscribe: (listener: () => void) => () => void, intervalMs: number): number {
	const [version, setVersion] = useState(0);
	useEffect(() => {
		let timer: NodeJS.Timeout | undefined;
		let last = 0;
		const bump = () => {
			timer = undefined;
			last = Date.now();
			setVersion(v => v + 1);
		};
		const unsubscribe = subscribe(() => {
			if (timer) return;
			timer = setTimeout(bump, Math.max(0, intervalMs - (Date.now() - last)));
		});
		return () => {
			unsubscribe();
			clearTimeout(timer);
		};
	}, [subscribe, intervalMs]);
	return version;
}
