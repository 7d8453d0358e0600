import assert from 'node:assert/strict';
import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {cruise, type IReporterOutput} from 'dependency-cruiser';

const root = fileURLToPath(new URL('../..', import.meta.url));
const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs'));

async function violations(baseDir: string, entries: string[]): Promise<string[]> {
	const previous = process.cwd();
	process.chdir(baseDir);
	try {
		const result = (await cruise(entries, {...config.options, validate: true, ruleSet: {forbidden: config.forbidden}})) as IReporterOutput;
		const output = result.output as Exclude<IReporterOutput['output'], string>;
		return output.summary.violations.map(v => `${v.rule.name}: ${v.from} → ${v.to}`);
	} finally {
		process.chdir(previous);
	}
}

test('the layers of DESIGN.md hold in source/', async () => {
	assert.deepEqual(await violations(root, ['source', 'cli.tsx']), []);
});

test('a deliberate violation of each rule is caught', async () => {
	const dir = await mkdtemp(path.join(os.tmpdir(), 'rc-layers-'));
	try {
		const file = async (name: string, text: string) => {
			await mkdir(path.dirname(path.join(dir, name)), {recursive: true});
			await writeFile(path.join(dir, name), text);
		};
		await file('tsconfig.json', JSON.stringify({compilerOptions: {module: 'nodenext', moduleResolution: 'nodenext', jsx: 'react-jsx'}}));
		await file('source/incident/domain.ts', "import {engineThing} from '../engine/thing.js';\nexport const domain = engineThing;\n");
		await file('source/engine/thing.ts', "import {domain} from '../incident/domain.js';\nexport const engineThing = 1;\nexport const again = domain;\n");
		await file('source/ui/view.tsx', "import {engineThing} from '../engine/thing.js';\nexport const view = engineThing;\n");
		await file('source/presentation/format.ts', "import {domain} from '../incident/domain.js';\nexport const format = domain;\n");
		const found = await violations(dir, ['source']);
		const rules = new Set(found.map(v => v.split(':')[0]));
		for (const rule of ['engine-is-the-outside-world', 'ui-never-touches-the-engine', 'presentation-is-pure', 'no-cycles']) {
			assert.ok(rules.has(rule), `${rule} not reported; got ${found.join('; ')}`);
		}
	} finally {
		await rm(dir, {recursive: true, force: true});
	}
});
