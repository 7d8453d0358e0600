import {evidenceCoversFailure} from '../lifecycle.js';
import {basename, dirname, join} from 'node:path';
import {ConsoleError} from '../../errors.js';
import type {ComposeProject, ComposeService} from '../../engine/types.js';
import {waitConditions, type ServiceCondition} from './service-wait.js';
import {unifiedDiff} from '../../presentation/unified-diff.js';
import {backupName, setEnvValue} from './env-file.js';
import {rolledBackNote, setLabel} from './releases.js';
import {shapeText, tagFor, type ReleaseServices, type ReleaseShape} from './release-services.js';
import type {ComposeText, editComposeImages} from './compose-image-edit.js';
import type {TimelineEvent} from '../timeline.js';
import {shortId} from '../../presentation/format.js';

/**
 * The Stabilise step's plan, built from facts already gathered: per release service from →
 * to, the exact compose commands, the file change that makes it last, and the warnings the
 * operator must acknowledge. Pure: the worker runs exactly what it says.
 */

export type RunKind = 'rollback' | 'deploy';

/** What a release service runs now. */
export interface RunningService {
	tag: string | null;
	digest: string | null;
	imageId: string | null;
	ok: boolean;
}

/** Where the target image of one release service is. */
export interface TargetService {
	/** `repo@sha256:…` when pinned, else `repo:tag`: what the worker checks the containers run. */
	reference: string;
	digest: string | null;
	local: boolean;
	imageId: string | null;
	/** This service's image tag in the target, when it differs from the shared one (a release grouped by deployment). */
	tag?: string | null;
}

/** The release to go to, resolved against the registry, the local images and releases.jsonl. */
export interface Target {
	/** What the operator asked for: a tag or a sha256 digest. */
	requested: string;
	tag: string;
	/** The digest pinned in the variable's value, when rolling back by digest. */
	pinned: string | null;
	pinReason: string | null;
	/** The tag variable's new value: the tag, or `tag@sha256:…` when pinned. */
	value: string;
	services: Record<string, TargetService>;
	/** Why the pull is skipped (registry down, tag not in the registry), or null to pull. */
	skipPull: string | null;
	verified: boolean;
	verifiedAt: string | null;
	/** The target release's migration head, when recorded. */
	migrationHead: string | null;
}

export interface PlanService {
	service: string;
	repository: string;
	from: RunningService;
	to: TargetService & {
		tag: string;
		/** The image reference written for it (literal and image-variable shapes): `repo:tag@sha256:…`. */
		pin: string;
	};
}

export interface PlanCommand {
	/** Exactly what the worker runs. */
	argv: string[];
	/** The compose subcommand and its arguments (argv after the project arguments). */
	args: string[];
	/** Set in the command's environment only. */
	env: Record<string, string>;
	/** The same as the operator would type it. */
	display: string;
	/** Why it is not run; null when it is. */
	skip: string | null;
	/** The pull: stopped (and said so) after this long (x-rollback-console.release.pull_timeout). */
	timeoutMs?: number;
	/**
	 * `up`: run without --wait, the worker then waits itself for what --wait waits for
	 * (service-wait.ts: the same conditions, heard on the Engine's events rather than compose's
	 * 500 ms poll, which heard a healthy stack ~0.4 s late). `says` is that wait in words,
	 * shown under the command.
	 */
	wait?: {
		timeoutMs: number;
		says: string;
		/** What is waited for, per service of the project (from the config the plan was made from); absent: the worker reads the config. */
		services?: Record<string, ServiceCondition>;
	};
}

export type Persist = 'env' | 'override' | 'none';

export interface DurableChange {
	/** `compose`: the image lines of the Compose file itself (literal tags, an override not ours). */
	persist: Persist | 'compose';
	/** The file written; null for persist: none. */
	file: string | null;
	/** Where the previous file is kept (the time in the name is the plan's; the worker's may differ). */
	backup: string | null;
	before: string | null;
	after: string | null;
	diff: string;
	/** Written before the pull (the literal shape: compose pulls what the files name). */
	beforePull?: boolean;
}

export type WarningId = 'evidence' | 'rolled-back' | 'unverified' | 'migration' | 'persist-none' | 'shadowed-variable';

export interface PlanWarning {
	id: WarningId;
	text: string;
}

export interface RollbackPlan {
	version: 1;
	kind: RunKind;
	createdAt: string;
	project: {name: string; workingDir: string; files: string[]; composeName: string | null};
	/** How the Compose file names the release, and why each service is a release service. */
	release?: {shape: ReleaseShape; why: Record<string, string>};
	variable: string;
	previousValue: string | null;
	value: string;
	/** The variables set, in .env and the commands' environment (the tag variable, or one per service). */
	assignments?: Record<string, string>;
	from: {tag: string | null};
	to: {requested: string; tag: string; pinned: string | null; verified: boolean};
	services: PlanService[];
	commands: PlanCommand[];
	durable: DurableChange;
	/** Must be acknowledged before it runs (--yes, or the typed confirmation). */
	warnings: PlanWarning[];
	/** Said, not asked: skipped pull, pinned digest. */
	notes: string[];
}

export interface OverrideFile {
	path: string;
	text: string | null;
	/** Written by us before (it carries our marker), so it may be replaced. */
	ours: boolean;
}

export interface PlanInput {
	kind: RunKind;
	now: number;
	project: ComposeProject;
	projectName: string;
	/** The full argv that runs compose for a project (ComposeCli.argv). */
	argv: (project: ComposeProject, args: string[]) => string[];
	release: ReleaseServices;
	persist: Persist;
	current: Record<string, RunningService>;
	/** The variable's value as compose resolves it now (.env or the environment). */
	previousValue: string | null;
	target: Target;
	envFile: {path: string; text: string | null};
	override: OverrideFile | null;
	/** The open incident's timeline; null when none is open. */
	incidentEvents: readonly TimelineEvent[] | null;
	/** When the current failure began (its newest failing container's creation); see lifecycle.ts. */
	failureSince?: string | null;
	/** The target was rolled back from since it was last verified: when, by whom, in which incident. */
	targetRolledBackFrom?: {time: string; user: string | null; incident: string | null} | null;
	/** The variable is exported in the operator's environment (it beats .env). */
	shellHasVariable: boolean;
	/** x-rollback-console.release.pull_timeout. */
	pullTimeoutMs?: number;
	/** image-variable: which of the per-service variables are exported in the operator's environment. */
	shellVariables?: string[];
	/** image-variable: each variable's value now. */
	previousValues?: Record<string, string | null>;
	/** literal: the Compose files' text, for an edit in place. */
	composeFiles?: ComposeText[];
	/** literal: the edit in place (compose-image-edit.ts, loaded only for this shape: the YAML parser is slow to load). */
	editImages?: typeof editComposeImages;
	/** The current release's migration head, when recorded. */
	currentMigrationHead?: string | null;
	/** Every service of the project as compose lists it: what the wait after `up` waits for. */
	projectServices?: Record<string, Pick<ComposeService, 'dependsOn'>>;
}

export const OVERRIDE_MARKER = '# Written by rollback-console: pins the release services to the images of a rollback.';

const safeWord = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** Quotes one word for a POSIX shell, for display only. */
export const shellQuote = (word: string) => (safeWord.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/** The argv as a command line, with `docker compose` for the plugin binary. */
export function displayCommand(argv: readonly string[], env: Record<string, string>): string {
	const words = [...argv];
	if (words[0] && basename(words[0]) === 'docker-compose' && words[0].includes('cli-plugins')) words.splice(0, 1, 'docker', 'compose');
	const prefix = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
	return [...prefix, ...words.map(shellQuote)].join(' ');
}

/** Refuses a plan that changes nothing: every release service runs the target already. */
export function assertChanges(release: ReleaseServices, current: Record<string, RunningService>, target: Target): void {
	const same = release.services.every(service => {
		const now = current[service];
		const to = target.services[service];
		if (!now || !to) return false;
		if (to.imageId && now.imageId) return to.imageId === now.imageId;
		if (to.digest && now.digest) return to.digest === now.digest;
		return now.tag === target.tag && !target.pinned;
	});
	if (same) {
		throw new ConsoleError(
			`${target.requested} is the current release: ${release.services.join(', ')} already run it (nothing to do; pick another with --to)`,
		);
	}
}

/** The auto-loaded override file of a project compose found by itself, or null when compose was given files. */
export function overridePath(project: ComposeProject): string | null {
	const [main, ...rest] = project.files;
	if (!main) return null;
	const names: Record<string, string> = {
		'compose.yaml': 'compose.override.yaml',
		'compose.yml': 'compose.override.yml',
		'docker-compose.yml': 'docker-compose.override.yml',
		'docker-compose.yaml': 'docker-compose.override.yaml',
	};
	const name = names[basename(main)];
	if (!name) return null;
	const override = join(dirname(main), name);
	if (rest.length === 0 || (rest.length === 1 && rest[0] === override)) return override;
	return null;
}

function overrideText(plan: {services: PlanService[]}, shape: ReleaseShape): string {
	const follow = shape === 'literal' ? 'the Compose file' : shape === 'image-variable' ? 'the image variables' : 'the tag variable';
	const lines = [OVERRIDE_MARKER, `# Remove this file (or deploy again) to follow ${follow} again.`, 'services:'];
	for (const s of plan.services) {
		const pin = shape !== 'tag-variable' ? s.to.pin : s.to.digest ? `${s.repository}@${s.to.digest}` : `${s.repository}:${s.to.tag}`;
		lines.push(`  ${s.service}:`, `    image: ${pin}`);
	}
	return `${lines.join('\n')}\n`;
}

/** The image reference a literal or image-variable service is pinned to: `repo:tag@sha256:…`, `repo@sha256:…` or `repo:tag`. */
export function pinFor(repository: string, tag: string | null, digest: string | null): string {
	if (digest) return tag ? `${repository}:${tag}@${digest}` : `${repository}@${digest}`;
	return `${repository}:${tag}`;
}

/** The variables a plan sets: the shared tag variable, or one whole reference per service. */
export function assignmentsFor(release: ReleaseServices, target: Target, services: readonly PlanService[]): Record<string, string> {
	if (release.shape === 'tag-variable') return {[release.variable]: target.value};
	if (release.shape === 'image-variable') return Object.fromEntries(services.map(s => [release.variables[s.service]!, s.to.pin]));
	return {};
}

/** Literal tags: the auto-loaded override when it is absent or ours, else the image lines of the Compose file itself. */
function literalChange(input: PlanInput, services: PlanService[]): {durable: DurableChange; files: string[]} | null {
	if (input.release.shape !== 'literal') return null;
	if (input.persist === 'none') {
		throw new ConsoleError('literal tags: persist: none cannot roll them back (the Compose files name the images); remove x-rollback-console.release.persist');
	}
	const override = input.override;
	if (override && (override.text === null || override.ours)) return null;
	if (!input.editImages) throw new Error('buildPlan: literal tags need editImages');
	const edits = input.editImages(input.composeFiles ?? [], Object.fromEntries(services.map(s => [s.service, s.to.pin])));
	if (edits.length > 1) {
		throw new ConsoleError(`the release services' image lines are in ${edits.length} files (${edits.map(e => basename(e.path)).join(', ')}); name them in one, or remove ${override ? basename(override.path) : 'the override'} to let rollback-console write its own`);
	}
	const edit = edits[0];
	if (!edit) throw new ConsoleError('the Compose files already name the target images: nothing to write');
	const name = basename(edit.path);
	return {
		durable: {
			persist: 'compose',
			file: edit.path,
			backup: backupName(edit.path, input.now),
			before: edit.before,
			after: edit.after,
			diff: unifiedDiff(edit.before, edit.after, {from: name, to: name}),
			beforePull: true,
		},
		files: [...input.project.files],
	};
}

function durableChange(input: PlanInput, services: PlanService[]): {durable: DurableChange; files: string[]} {
	const files = [...input.project.files];
	const literal = literalChange(input, services);
	if (literal) return literal;
	if (input.persist === 'none') {
		return {durable: {persist: 'none', file: null, backup: null, before: null, after: null, diff: ''}, files};
	}
	if (input.persist === 'env' && input.release.shape !== 'literal') {
		const before = input.envFile.text ?? '';
		let after = before;
		for (const [key, value] of Object.entries(assignmentsFor(input.release, input.target, services))) after = setEnvValue(after, key, value);
		const name = basename(input.envFile.path);
		return {
			durable: {
				persist: 'env',
				file: input.envFile.path,
				backup: input.envFile.text === null ? null : backupName(input.envFile.path, input.now),
				before: input.envFile.text,
				after,
				diff: unifiedDiff(before, after, {from: input.envFile.text === null ? '/dev/null' : `${name}`, to: name}),
			},
			files,
		};
	}
	const override = input.override;
	if (!override && input.release.shape === 'literal') {
		throw new ConsoleError('literal tags: no Compose file line or override to pin the release in (use compose.yaml, or set x-rollback-console.release.persist)');
	}
	if (!override) {
		throw new ConsoleError(
			'persist: override needs a project compose finds by itself (compose.yaml, no -f or COMPOSE_FILE): use persist: env',
		);
	}
	if (override.text !== null && !override.ours) {
		throw new ConsoleError(`persist: override would replace ${override.path}, which rollback-console did not write: use persist: env`);
	}
	const after = overrideText({services}, input.release.shape);
	if (!files.includes(override.path)) files.push(override.path);
	const name = basename(override.path);
	return {
		durable: {
			persist: 'override',
			file: override.path,
			backup: override.text === null ? null : backupName(override.path, input.now),
			before: override.text,
			after,
			diff: unifiedDiff(override.text ?? '', after, {from: override.text === null ? '/dev/null' : name, to: name}),
			// The commands name the override file: it must exist, with the pins, before the pull.
			beforePull: true,
		},
		files,
	};
}

function warnings(input: PlanInput): PlanWarning[] {
	const list: PlanWarning[] = [];
	const {target, kind} = input;
	// About the current failure: a capture from before its containers were created does not count.
	if (kind === 'rollback' && !evidenceCoversFailure(input.incidentEvents, input.failureSince ?? null)) {
		const older = (input.incidentEvents ?? []).some(e => e.type === 'evidence_capture_complete');
		list.push({
			id: 'evidence',
			text: older
				? 'evidence of the current failure not captured: the last capture is older than the failing containers; recreating them loses their logs and state (rollback-console capture first)'
				: 'evidence not captured yet: recreating the containers loses their logs and state (rollback-console capture first)',
		});
	}
	const away = input.targetRolledBackFrom;
	if (away) {
		list.push({
			id: 'rolled-back',
			text: `${target.tag} is a release this box ROLLED BACK FROM: ${rolledBackNote({rolledBackFrom: away})!.replace(/^rolled back from /, '')}; going to it again needs it named`,
		});
	} else if (kind === 'rollback' && !target.verified) {
		list.push({id: 'unverified', text: `${target.tag} is not a verified release on this box (never deployed here and found healthy)`});
	}
	// The Database step's finding for this target, when it ran in this incident: additive or destructive.
	const found = (input.incidentEvents ?? []).findLast(e => e.type === 'database_boundary' && e.data['target'] === target.tag);
	if (found && found.data['verdict'] !== 'nothing-past') {
		list.push({id: 'migration', text: `${String(found.data['line'])} (Database step, ${found.time.slice(11, 16)} UTC)`});
	} else if (!found && target.migrationHead && input.currentMigrationHead && target.migrationHead !== input.currentMigrationHead) {
		list.push({
			id: 'migration',
			text: `the database migrated since ${target.tag} (${target.migrationHead} → ${input.currentMigrationHead}): additive or destructive is not known yet — check the Database step first`,
		});
	}
	if (input.persist === 'none') {
		const what =
			input.release.shape === 'image-variable'
				? input.release.services.map(s => input.release.variables[s]).join(', ')
				: `${input.release.variable}=${target.value}`;
		list.push({
			id: 'persist-none',
			text: `persist: none: nothing records ${what}, so a plain docker compose up brings ${input.previousValue ?? 'the old release'} back`,
		});
	}
	const shadowed = input.release.shape === 'image-variable' ? (input.shellVariables ?? []) : input.shellHasVariable ? [input.release.variable] : [];
	if (shadowed.length > 0 && input.release.shape !== 'literal') {
		list.push({
			id: 'shadowed-variable',
			text: `${shadowed.join(', ')} ${shadowed.length > 1 ? 'are' : 'is'} exported in this shell: ${shadowed.length > 1 ? 'they override' : 'it overrides'} .env for docker compose commands run from it`,
		});
	}
	return list;
}

export function buildPlan(input: PlanInput): RollbackPlan {
	const {release, target} = input;
	assertChanges(release, input.current, target);
	if (release.shape === 'tag-variable' && target.pinned && release.services.some(s => release.templates[s]!.tagSuffix !== '') && input.persist === 'env') {
		throw new ConsoleError(`cannot pin a digest through \${${release.variable}}: the image tag has text after it; use persist: override`);
	}
	const services: PlanService[] = release.services.map(service => {
		const to = target.services[service]!;
		const repository = release.templates[service]!.repository;
		const tag = to.tag ?? tagFor(release.templates[service]!, target.tag);
		return {
			service,
			repository,
			from: input.current[service] ?? {tag: null, digest: null, imageId: null, ok: false},
			to: {...to, tag, pin: pinFor(repository, to.tag === null ? null : tag, to.digest)},
		};
	});
	const {durable, files} = durableChange(input, services);
	const composeProject: ComposeProject = {...input.project, files};
	// Set in the commands' environment too: an exported variable in the operator's shell must not win.
	const env = assignmentsFor(release, target, services);
	const pullArgs = ['pull', '--policy', 'always', ...release.services];
	const upArgs = ['up', '-d'];
	const waitSeconds = 60;
	const command = (args: string[], skip: string | null): PlanCommand => {
		const argv = input.argv(composeProject, args);
		return {argv, args, env, display: displayCommand(argv, env), skip};
	};
	const up = command(upArgs, null);
	up.wait = {
		timeoutMs: waitSeconds * 1000,
		says: `then wait up to ${waitSeconds} s, as up --wait does: every service running, healthy where it has a healthcheck (a job others wait on: exited 0)`,
		...(input.projectServices ? {services: Object.fromEntries(waitConditions(input.projectServices))} : {}),
	};
	const notes: string[] = [];
	if (target.skipPull) notes.push(`skipping the pull: ${target.skipPull}`);
	if (target.pinReason) notes.push(target.pinReason);
	const fromTags = [...new Set(services.map(s => s.from.tag).filter(t => t !== null))];
	// Each service names its own image and their tags disagree: the release is known by its digests.
	const fromDigests = services.map(s => s.from.digest);
	const fromSet =
		release.shape !== 'tag-variable' && fromTags.length > 1 && fromDigests.every(Boolean)
			? setLabel(Object.fromEntries(services.map(s => [s.service, s.from.digest!])))
			: null;
	return {
		version: 1,
		kind: input.kind,
		createdAt: new Date(input.now).toISOString(),
		project: {name: input.projectName, workingDir: input.project.workingDir, files, composeName: input.project.name},
		release: {shape: release.shape, why: release.why},
		variable: release.variable,
		previousValue: input.previousValue,
		value: target.value,
		assignments: env,
		from: {tag: fromSet ?? (fromTags.length === 1 ? fromTags[0]! : fromTags.length ? fromTags.join('+') : null)},
		to: {requested: target.requested, tag: target.tag, pinned: target.pinned, verified: target.verified},
		services,
		commands: [{...command(pullArgs, target.skipPull), ...(input.pullTimeoutMs ? {timeoutMs: input.pullTimeoutMs} : {})}, up],
		durable,
		warnings: warnings(input),
		notes,
	};
}


/** The plan as the operator reads it (headless output; the console lays out the same facts). */
export function planText(plan: RollbackPlan): string {
	const lines: string[] = [];
	const verb = plan.kind === 'rollback' ? 'Roll back' : 'Deploy';
	lines.push(`${verb} ${plan.project.name}: ${plan.from.tag ?? '(nothing running)'} → ${plan.to.tag}${plan.to.pinned ? ` pinned to ${plan.to.pinned}` : ''}`);
	if (plan.release) {
		lines.push(`Release: ${shapeText[plan.release.shape]}`);
		for (const s of plan.services) lines.push(`  ${s.service}: ${plan.release.why[s.service] ?? '-'}`);
	}
	lines.push('');
	for (const s of plan.services) {
		lines.push(
			`  ${s.service.padEnd(14)} ${(s.from.tag ?? '-').padEnd(10)} ${shortId(s.from.digest).padEnd(12)} → ${s.to.tag.padEnd(10)} ${shortId(s.to.digest).padEnd(12)} ${s.to.local ? 'on this box' : 'to pull'}`,
		);
	}
	lines.push('', 'Commands:');
	for (const c of plan.commands) {
		lines.push(`  ${c.skip ? '(skipped) ' : ''}${c.display}`);
		if (c.wait) lines.push(`  ${c.wait.says}`);
	}
	lines.push('');
	if (plan.durable.persist === 'none') lines.push('Durable change: none (persist: none)');
	else {
		lines.push(
			`Durable change: ${plan.durable.file}${plan.durable.backup ? ` (previous kept as ${basename(plan.durable.backup)})` : ''}${plan.durable.beforePull ? ', written before the pull' : ''}`,
		);
		lines.push(...plan.durable.diff.trimEnd().split('\n').map(l => `  ${l}`));
	}
	for (const note of plan.notes) lines.push(`Note: ${note}`);
	if (plan.warnings.length > 0) {
		lines.push('', 'Warnings (confirming acknowledges them):');
		for (const w of plan.warnings) lines.push(`  ! ${w.text}`);
	}
	return `${lines.join('\n')}\n`;
}
