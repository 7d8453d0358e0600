import {useEffect, useState} from 'react';
import type {VerifyState} from '../../../incident/verify/run.js';
import type {VerifyModel} from './verify-model.js';

/** The model's run as it stands, re-rendered on every change (the run outlives the view). */
export function useVerifyRun(verify: VerifyModel | undefined): {state: VerifyState | null; running: boolean} {
	const [state, setState] = useState<VerifyState | null>(() => verify?.current() ?? null);
	const [running, setRunning] = useState(() => verify?.running() ?? false);
	useEffect(() => {
		if (!verify) return;
		setState(verify.current());
		setRunning(verify.running());
		return verify.subscribe(next => {
			setState(next);
			setRunning(verify.running());
		});
	}, [verify]);
	return {state, running};
}
