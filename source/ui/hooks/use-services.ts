import {useSyncExternalStore} from 'react';
import type {ServicesSnapshot} from '../../incident/services-feed.js';
import type {ConsoleModel} from '../console-model.js';

export function useServices(model: ConsoleModel): ServicesSnapshot {
	return useSyncExternalStore(model.services.subscribe.bind(model.services), model.services.snapshot.bind(model.services));
}
