import {createContext, useContext, type ReactNode} from 'react';
import {Text} from 'ink';
import type {Tone} from '../presentation/format.js';

/** False under NO_COLOR or --no-color: components then draw with text and symbols only. */
export const ColorContext = createContext(true);

const colors: Record<Tone, string | undefined> = {good: 'green', bad: 'red', warn: 'yellow', muted: 'gray', plain: undefined};

export function Toned({tone, bold, children}: {tone: Tone; bold?: boolean; children: ReactNode}) {
	const color = useContext(ColorContext);
	return (
		<Text color={color ? colors[tone] : undefined} dimColor={color && tone === 'muted'} bold={bold}>
			{children}
		</Text>
	);
}

export const useColorEnabled = () => useContext(ColorContext);
