// The layer rules of ../shared/DESIGN.md, checked in `npm test` (test/unit/layers.test.ts).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
	forbidden: [
		{
			name: 'engine-is-the-outside-world',
			comment: 'engine/ talks to Docker, compose and HTTP; it imports nothing of the domain, the UI, the wiring or the commands.',
			severity: 'error',
			from: {path: '^source/engine/'},
			to: {path: '^source/(incident|ui|console|commands|presentation)/'},
		},
		{
			name: 'ui-never-touches-the-engine',
			comment: 'ui/ renders domain state; the engine, dockerode, zx and ky stay behind console/.',
			severity: 'error',
			from: {path: '^source/ui/'},
			to: {path: ['^source/engine/', '^source/console/', '^source/commands/', '(^|/)node_modules/(dockerode|zx|ky)/']},
		},
		{
			name: 'domain-has-no-react',
			comment: 'incident/ is plain TypeScript: no React, no Ink, no ui/.',
			severity: 'error',
			from: {path: '^source/incident/'},
			to: {path: ['^source/(ui|console|commands)/', '(^|/)node_modules/(react|ink|ink-[^/]+|ink-testing-library)/']},
		},
		{
			name: 'presentation-is-pure',
			comment: 'presentation/ formats values; it imports no layer but its own.',
			severity: 'error',
			from: {path: '^source/presentation/'},
			to: {path: '^source/(engine|incident|ui|console|commands)/'},
		},
		{
			name: 'commands-are-headless',
			comment: 'Headless commands never load Ink or React (their start-up is their speed).',
			severity: 'error',
			from: {path: '^source/commands/'},
			to: {path: ['^source/ui/', '(^|/)node_modules/(react|ink|ink-[^/]+)/'], dependencyTypesNot: ['type-only', 'dynamic-import']},
		},
		{
			name: 'no-cycles',
			severity: 'error',
			from: {},
			to: {circular: true, dependencyTypesNot: ['type-only']},
		},
	],
	options: {
		doNotFollow: {path: 'node_modules'},
		tsPreCompilationDeps: true,
		tsConfig: {fileName: 'tsconfig.json'},
		enhancedResolveOptions: {exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js', '.mjs']},
		moduleSystems: ['es6', 'cjs'],
	},
};
