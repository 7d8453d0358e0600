/** A line-based unified diff (`diff -u`), for showing a file change before it is made. */

type Op = {kind: ' ' | '-' | '+'; line: string};

function splitLines(text: string): string[] {
	if (text === '') return [];
	const lines = text.split('\n');
	if (lines.at(-1) === '') lines.pop();
	return lines;
}

/** The edit script by longest common subsequence; config files are small. */
function editScript(a: string[], b: string[]): Op[] {
	const n = a.length;
	const m = b.length;
	const lcs: Uint32Array[] = Array.from({length: n + 1}, () => new Uint32Array(m + 1));
	for (let i = n - 1; i >= 0; i--) {
		for (let j = m - 1; j >= 0; j--) {
			lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
		}
	}
	const ops: Op[] = [];
	let i = 0;
	let j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && a[i] === b[j]) {
			ops.push({kind: ' ', line: a[i]!});
			i++;
			j++;
		} else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
			ops.push({kind: '+', line: b[j]!});
			j++;
		} else {
			ops.push({kind: '-', line: a[i]!});
			i++;
		}
	}
	// Removals before additions within a change, as diff -u shows them.
	for (let k = 1; k < ops.length; k++) {
		for (let l = k; l > 0 && ops[l]!.kind === '-' && ops[l - 1]!.kind === '+'; l--) {
			[ops[l - 1], ops[l]] = [ops[l]!, ops[l - 1]!];
		}
	}
	return ops;
}

/** `--- from` / `+++ to` and the hunks; '' when the texts are the same. */
export function unifiedDiff(before: string, after: string, {from, to, context = 3}: {from: string; to: string; context?: number}): string {
	if (before === after) return '';
	const ops = editScript(splitLines(before), splitLines(after));
	const out = [`--- ${from}`, `+++ ${to}`];
	let k = 0;
	while (k < ops.length) {
		while (k < ops.length && ops[k]!.kind === ' ') k++;
		if (k >= ops.length) break;
		let start = Math.max(0, k - context);
		let end = k;
		// Extend over changes closer than 2 × context apart.
		for (;;) {
			while (end < ops.length && ops[end]!.kind !== ' ') end++;
			let same = 0;
			while (end + same < ops.length && ops[end + same]!.kind === ' ') same++;
			if (end + same < ops.length && same <= context * 2) end += same;
			else {
				end = Math.min(ops.length, end + context);
				break;
			}
		}
		let aLine = 1;
		let bLine = 1;
		for (let x = 0; x < start; x++) {
			if (ops[x]!.kind !== '+') aLine++;
			if (ops[x]!.kind !== '-') bLine++;
		}
		const hunk = ops.slice(start, end);
		const aCount = hunk.filter(o => o.kind !== '+').length;
		const bCount = hunk.filter(o => o.kind !== '-').length;
		out.push(`@@ -${aCount === 0 ? aLine - 1 : aLine},${aCount} +${bCount === 0 ? bLine - 1 : bLine},${bCount} @@`);
		for (const op of hunk) out.push(`${op.kind}${op.line}`);
		k = end;
		start = end;
	}
	return `${out.join('\n')}\n`;
}
