import {Box, Text, useApp, useInput, useStdin} from 'ink';
import type {ServiceStatus} from '../incident/service-status.js';
import {Toned} from './theme.js';

/** What the console asks before it opens an incident. */
export interface IncidentGate {
	kind: 'none' | 'new-problem';
	/** "no incident open: …" / "the open incident … is from 2 h ago; this looks like a new problem: …" */
	text: string;
	/** The incident left open (new-problem). */
	openId: string | null;
	reason: string | null;
}

export type GateAnswer = 'new' | 'continue' | 'quit';

export interface IncidentGateViewProps {
	project: string;
	gate: IncidentGate;
	services: readonly ServiceStatus[];
	onAnswer: (answer: GateAnswer) => void;
}

/** The services and the question: n opens a new incident, c continues the open one, q quits. */
export function IncidentGateView({project, gate, services, onAnswer}: IncidentGateViewProps) {
	const {exit} = useApp();
	const {isRawModeSupported} = useStdin();
	const answer = (a: GateAnswer) => {
		onAnswer(a);
		exit();
	};
	useInput(
		(input, key) => {
			if (input === 'n') answer('new');
			else if (input === 'c' && gate.kind === 'new-problem') answer('continue');
			else if (input === 'q' || key.escape || (key.ctrl && input === 'c')) answer('quit');
		},
		{isActive: isRawModeSupported},
	);
	return (
		<Box flexDirection="column" borderStyle="round" paddingX={1}>
			<Text bold>{project}</Text>
			{services.map(s => (
				<Text key={s.service} wrap="truncate-end">
					<Toned tone={s.ok ? 'good' : 'bad'}>{s.ok ? '●' : '✕'}</Toned> {s.service.padEnd(16)} {s.state}
					{s.health !== 'none' ? ` (${s.health})` : ''}
					{s.exitCode !== null && !s.ok ? ` exit ${s.exitCode}` : ''}
					{s.restartCount > 0 ? ` · ${s.restartCount} restarts` : ''}
				</Text>
			))}
			<Text> </Text>
			<Text wrap="wrap">
				<Toned tone={gate.kind === 'none' ? 'muted' : 'warn'} bold={gate.kind === 'new-problem'}>
					{gate.text}
				</Toned>
			</Text>
			<Text>
				<Toned tone="muted">{gate.kind === 'new-problem' ? 'n: new incident  c: continue the open one  q: quit' : 'n: open an incident  q: quit'}</Toned>
			</Text>
		</Box>
	);
}
