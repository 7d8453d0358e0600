// Scope's "when to roll back, measured" lines: each criterion with its figures.
import type {Measured} from '../../../incident/scope.js';
import type {RollbackCriteria} from '../../../incident/verify/criteria.js';
import {printable} from '../../../presentation/text.js';
import type {Line} from '../../kit/line.js';

export function criteriaLines(criteria: RollbackCriteria | null, loading: boolean, error: string | null): Line[] {
	if (!criteria) {
		if (error) return [{key: 'measured', tone: 'muted', text: `When to roll back, measured: could not measure (${printable(error)})`}];
		return loading ? [{key: 'measured', tone: 'muted', text: 'When to roll back, measured: probing health and reading error rates…'}] : [];
	}
	return [
		{key: 'measured', bold: true, text: `When to roll back, measured${criteria.suggests ? ': ROLL BACK' : ': no criterion met'}`, ...(criteria.suggests ? {tone: 'bad' as const} : {})},
		...criteria.criteria.map(c => ({
			key: `measured:${c.id}`,
			tone: c.met ? ('bad' as const) : c.met === null ? ('muted' as const) : ('good' as const),
			text: `  ${c.met ? '✗' : c.met === null ? '?' : '✓'} ${printable(c.text)}`,
			// The figures are the point: read whole.
			wrap: true,
		})),
	];
}

/** What the decision guide is pre-filled from. */
export const measuredOf = (criteria: RollbackCriteria | null): Measured | null =>
	criteria ? {suggests: criteria.suggests, reasons: criteria.criteria.filter(c => c.met).map(c => c.text)} : null;
