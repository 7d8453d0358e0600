import {render} from 'ink';
import type {ServiceStatus} from '../incident/service-status.js';
import {IncidentGateView, type GateAnswer, type IncidentGate} from './incident-gate.js';
import {ColorContext} from './theme.js';

/** Asks the gate's question in the terminal; resolves with the answer (quit when the terminal goes). */
export async function askGate(project: string, gate: IncidentGate, services: readonly ServiceStatus[], {color}: {color: boolean}): Promise<GateAnswer> {
	let answer: GateAnswer = 'quit';
	const instance = render(
		<ColorContext.Provider value={color}>
			<IncidentGateView project={project} gate={gate} services={services} onAnswer={a => (answer = a)} />
		</ColorContext.Provider>,
		{exitOnCtrlC: false, interactive: true},
	);
	await instance.waitUntilExit().catch(() => {});
	return answer;
}
