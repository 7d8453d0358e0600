import type {ProjectOptions} from '../engine/compose-project.js';

/** The flags every command shares (DESIGN.md, "Interfaces"). */
export interface GlobalOptions extends ProjectOptions {
	stateDir?: string | undefined;
	readOnly: boolean;
	color: boolean;
	json: boolean;
}
