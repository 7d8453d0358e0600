import type {HealthProbe} from '../../../incident/health.js';
import type {ConsoleModel} from '../../console-model.js';
import {useAbortableLoad} from '../../kit/use-abortable-load.js';

export interface HealthProbes {
	probes: HealthProbe[] | null;
	probing: boolean;
	error: string | null;
	/** Probes every configured URL again (nothing when none is configured). */
	probe: () => void;
}

/** The configured health URLs, probed when the step opens and on request; a late answer never overwrites a newer one. */
export function useHealthProbes(model: ConsoleModel): HealthProbes {
	const configured = model.settings.health.length > 0;
	const loaded = useAbortableLoad(configured ? signal => model.probeHealth(signal) : null, [model, configured]);
	return {probes: loaded.value, probing: loaded.loading, error: loaded.error, probe: loaded.reload};
}
