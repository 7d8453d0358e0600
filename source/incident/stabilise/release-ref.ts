import {ConsoleError} from '../../errors.js';

/** What `--to` names: a tag, or one image by its digest. */
export type Ref = {kind: 'tag'; tag: string} | {kind: 'digest'; digest: string};

const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;

/** A tag or `sha256:<64 hex>`; anything else (spaces, `;`, `$(…)`, quotes) is refused before anything runs. */
export function parseRef(ref: string): Ref {
	if (digestPattern.test(ref)) return {kind: 'digest', digest: ref};
	if (tagPattern.test(ref)) return {kind: 'tag', tag: ref};
	if (/^sha256:/i.test(ref)) throw new ConsoleError(`--to ${JSON.stringify(ref)}: a digest is sha256: and 64 lowercase hex digits`);
	throw new ConsoleError(
		`--to ${JSON.stringify(ref)}: not a tag or sha256 digest (a tag is letters, digits, "_", "." and "-", at most 128, no shell characters)`,
	);
}
