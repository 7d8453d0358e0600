// The health probe's result is the engine's type; the domain and the UI name it from here.
export type {HealthProbe, HealthTarget} from '../engine/health-probe-types.js';
