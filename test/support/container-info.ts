// A container of the `shop` project as the Engine lists it, for unit tests: `service`'s first
// replica, running, no health check, image r/app:v1; `partial` says what else is true of it.
import type {ContainerInfo} from '../../source/engine/types.js';

export function containerInfo(service: string, partial: Partial<ContainerInfo> = {}): ContainerInfo {
	return {
		id: `${service}-id`,
		name: `shop-${service}-1`,
		project: 'shop',
		service,
		number: 1,
		state: 'running',
		health: 'none',
		restartCount: 0,
		exitCode: null,
		oomKilled: false,
		startedAt: null,
		finishedAt: null,
		createdAt: '',
		image: 'r/app:v1',
		imageId: 'i1',
		labels: {},
		...partial,
	};
}
