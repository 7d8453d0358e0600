import {ConsoleError} from '../../errors.js';
import {parseImageRef, repositoryName} from '../../engine/image-ref.js';
import type {Settings} from '../settings.js';

/**
 * A release service's `image:` as written, split around the tag variable:
 * `127.0.0.1:5000/shop/app:${IMAGE_TAG:?set it}` → repository `127.0.0.1:5000/shop/app`,
 * tag prefix '' and suffix ''. The variable's value and the image tag then map both ways.
 */
export interface ImageTemplate {
	service: string;
	raw: string;
	/** The repository, with the other variables interpolated (from `config`). */
	repository: string;
	tagPrefix: string;
	tagSuffix: string;
}

/**
 * How the Compose file names the release (the runbooks write it three ways):
 * - `literal`: `image: repo:0.3.0`, no variable; pinned by an override file or in the file itself;
 * - `image-variable`: one variable per service holding the whole reference, `image: ${API_IMAGE}`;
 * - `tag-variable`: one tag variable shared by the services, `image: repo:${IMAGE_TAG}`.
 */
export type ReleaseShape = 'literal' | 'image-variable' | 'tag-variable';

export const shapeText: Record<ReleaseShape, string> = {
	literal: 'literal tags in the Compose file',
	'image-variable': 'one variable per service holding the whole image reference',
	'tag-variable': 'a shared tag variable',
};

export interface ReleaseServices {
	shape: ReleaseShape;
	/** The shared tag variable (tag-variable); '' in the other shapes. */
	variable: string;
	/** image-variable: the variable each release service's image is. */
	variables: Record<string, string>;
	/** Sorted by name. */
	services: string[];
	templates: Record<string, ImageTemplate>;
	/** The distinct repositories of the release services. */
	repositories: string[];
	/** Why each service is a release service, in a few words. */
	why: Record<string, string>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where `$VAR` or `${VAR…}` first occurs in `raw`, or null. `$$` is an escaped dollar. */
export function findVariable(raw: string, variable: string): {start: number; end: number} | null {
	const pattern = new RegExp(`\\$(?:\\{${escape(variable)}(?=[}:?\\-+])|${escape(variable)}(?![A-Za-z0-9_]))`, 'g');
	for (const match of raw.matchAll(pattern)) {
		const start = match.index;
		// An even run of dollars before it escapes it.
		let dollars = 0;
		for (let i = start - 1; i >= 0 && raw[i] === '$'; i--) dollars++;
		if (dollars % 2 === 1) continue;
		if (match[0].startsWith('${')) {
			// The matching brace: modifiers (`:?message`) may hold `${OTHER}` of their own.
			let depth = 0;
			for (let i = start + 1; i < raw.length; i++) {
				if (raw[i] === '{') depth++;
				else if (raw[i] === '}' && --depth === 0) return {start, end: i + 1};
			}
			return null;
		}
		return {start, end: start + match[0].length};
	}
	return null;
}

/**
 * Splits a release service's image around the variable. The variable must be (part of) the
 * tag, the last component: `repo:${TAG}`, `repo:release-${TAG}`.
 */
export function parseTemplate(service: string, raw: string, interpolated: string | null, variable: string): ImageTemplate | null {
	const found = findVariable(raw, variable);
	if (!found) return null;
	const before = raw.slice(0, found.start);
	const after = raw.slice(found.end);
	const colon = before.lastIndexOf(':');
	if (colon === -1 || colon < before.lastIndexOf('/') || /[$@:/]/.test(after)) {
		throw new ConsoleError(
			`service ${service}: image "${raw}" uses \${${variable}} outside its tag; rollback-console needs it as the tag (repo:\${${variable}})`,
		);
	}
	const tagPrefix = before.slice(colon + 1);
	if (tagPrefix.includes('$')) {
		throw new ConsoleError(`service ${service}: image "${raw}": the tag mixes \${${variable}} with other variables`);
	}
	// The repository with any other variables filled in, as compose resolved it.
	const resolved = interpolated ? repositoryName(parseImageRef(interpolated)) : before.slice(0, colon);
	return {service, raw, repository: resolved, tagPrefix, tagSuffix: after};
}

/** The image tag a value of the variable gives this service. */
export const tagFor = (template: ImageTemplate, value: string) => `${template.tagPrefix}${value}${template.tagSuffix}`;

/** The value of the variable that gives this image tag, or null when the tag does not fit the template. */
export function valueFor(template: ImageTemplate, tag: string): string | null {
	if (!tag.startsWith(template.tagPrefix) || !tag.endsWith(template.tagSuffix)) return null;
	const value = tag.slice(template.tagPrefix.length, tag.length - template.tagSuffix.length);
	return value.length > 0 ? value : null;
}


/** The variables an `image:` as written uses, in order (`$$` escapes a dollar). */
export function variablesIn(raw: string): string[] {
	const names: string[] = [];
	for (let i = 0; i < raw.length; i++) {
		if (raw[i] !== '$') continue;
		if (raw[i + 1] === '$') {
			i++;
			continue;
		}
		const match = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))/.exec(raw.slice(i));
		if (match) names.push((match[1] ?? match[2])!);
	}
	return [...new Set(names)];
}

/** Whether the image is one variable and nothing else: `${API_IMAGE}`, `${API_IMAGE:?set it}`, `$API_IMAGE`. */
function wholeVariable(raw: string): string | null {
	const names = variablesIn(raw);
	if (names.length === 0) return null;
	const found = findVariable(raw, names[0]!);
	return found && found.start === 0 && found.end === raw.trim().length ? names[0]! : null;
}

// Images that are somebody else's software, not this project's release, unless named.
const thirdParty = new Set([
	'postgres', 'postgis', 'mysql', 'mariadb', 'mongo', 'redis', 'valkey', 'memcached', 'nginx', 'httpd', 'caddy', 'traefik',
	'haproxy', 'rabbitmq', 'elasticsearch', 'opensearch', 'kibana', 'grafana', 'prometheus', 'busybox', 'alpine', 'debian',
	'ubuntu', 'minio', 'mailhog', 'adminer', 'pgbouncer', 'zookeeper', 'kafka', 'nats', 'etcd', 'vault', 'consul',
]);

/** A Docker Hub official image (`postgres:15`), or a well-known third-party one by its name. */
export function isThirdParty(reference: string): boolean {
	const ref = parseImageRef(reference);
	const hub = ref.registry === null || ref.registry === 'docker.io' || ref.registry === 'index.docker.io';
	if (hub && (!ref.repository.includes('/') || ref.repository.startsWith('library/'))) return true;
	return thirdParty.has(ref.repository.split('/').at(-1)!);
}

/** A literal image's repository, for the caller to count its release tags (here and in the registry). */
export function literalRepositories(
	settings: Settings,
	raw: Record<string, string | null>,
	interpolated: Record<string, {image: string | null}>,
): string[] {
	// A variable in a release image means another shape (a database's version variable does not count).
	const variable = ([service, image]: [string, string | null]) => {
		const resolved = interpolated[service]?.image;
		return Boolean(image && variablesIn(image).length > 0 && !(resolved && isThirdParty(resolved)));
	};
	if (Object.entries(raw).some(variable)) return [];
	const repositories = Object.entries(raw)
		.filter(([service, image]) => image && (!isThirdParty(image) || settings.release.services?.includes(service)))
		.map(([service, image]) => repositoryName(parseImageRef(interpolated[service]?.image ?? image!)));
	return [...new Set(repositories)].sort();
}

export interface DetectOptions {
	/**
	 * How many release tags a literal image's repository has here or in the registry (literal
	 * shape). Without it every such repository counts as having several (the disk step's guess).
	 */
	tagCount?: (repository: string) => number;
	/** Variables the Compose files use outside any `image:` (ambiguity: a rollback would change them too). */
	usedOutsideImages?: ReadonlySet<string>;
}

const setIt = 'set x-rollback-console.release';

function literalTemplate(service: string, raw: string, interpolated: string | null): ImageTemplate {
	return {service, raw, repository: repositoryName(parseImageRef(interpolated ?? raw)), tagPrefix: '', tagSuffix: ''};
}

function finish(shape: ReleaseShape, variable: string, services: string[], templates: Record<string, ImageTemplate>, why: Record<string, string>, variables: Record<string, string> = {}): ReleaseServices {
	services.sort();
	const repositories = [...new Set(services.map(s => templates[s]!.repository))].sort();
	return {shape, variable, variables, services, templates, repositories, why};
}

/** Shape 3: every listed (or found) service's image uses the shared tag variable. */
function tagVariable(
	variable: string,
	services: string[],
	raw: Record<string, string | null>,
	interpolated: Record<string, {image: string | null}>,
	named: boolean,
): ReleaseServices {
	const templates: Record<string, ImageTemplate> = {};
	const why: Record<string, string> = {};
	for (const service of services) {
		const image = raw[service];
		const template = image ? parseTemplate(service, image, interpolated[service]?.image ?? null, variable) : null;
		if (!template) {
			throw new ConsoleError(`release service ${service}: its image "${image ?? '(none)'}" does not use \${${variable}}`);
		}
		templates[service] = template;
		why[service] = named ? `named in x-rollback-console.release.services; its tag is \${${variable}}` : `its image's tag is \${${variable}}`;
	}
	return finish('tag-variable', variable, services, templates, why);
}

/**
 * The release services and how the Compose file names their release. `raw` is
 * `config --no-interpolate`'s view of each `image:`, `interpolated` plain `config`'s.
 * - Listed in `x-rollback-console.release.services`: those, in whichever shape their images are.
 * - Else, services whose image uses a variable: the configured tag variable (IMAGE_TAG) or
 *   another one shared as the tag, or one variable per service as the whole reference.
 * - Else, literal images whose repository has more than one release tag; databases and other
 *   third-party images are not release services unless named.
 * Anything that could be read two ways is refused with what to set (exit 2, nothing changed).
 */
export function releaseServices(
	settings: Settings,
	raw: Record<string, string | null>,
	interpolated: Record<string, {image: string | null}>,
	options: DetectOptions = {},
): ReleaseServices {
	const {variable} = settings.release;
	const named = settings.release.services;
	const outside = options.usedOutsideImages ?? new Set<string>();
	if (named) {
		const unknown = named.filter(s => !(s in raw));
		if (unknown.length > 0) {
			throw new ConsoleError(`x-rollback-console.release.services: no service named ${unknown.join(', ')} in the Compose file`);
		}
		const services = [...new Set(named)];
		if (services.length === 0) throw new ConsoleError(`no release services: x-rollback-console.release.services is empty`);
		if (services.every(s => raw[s] && findVariable(raw[s]!, variable))) return tagVariable(variable, services, raw, interpolated, true);
		const wholes = services.map(s => (raw[s] ? wholeVariable(raw[s]!) : null));
		if (wholes.every(Boolean)) return imageVariables(services, wholes as string[], raw, interpolated, true);
		if (services.every(s => raw[s] && variablesIn(raw[s]!).length === 0)) {
			const templates = Object.fromEntries(services.map(s => [s, literalTemplate(s, raw[s]!, interpolated[s]?.image ?? null)]));
			return finish('literal', '', services, templates, Object.fromEntries(services.map(s => [s, 'named in x-rollback-console.release.services; literal image'])));
		}
		throw new ConsoleError(
			`x-rollback-console.release.services: ${services.join(', ')} name their release in different ways (${services.map(s => `${s}: "${raw[s] ?? '(no image)'}"`).join(', ')}); ${setIt}.variable, or list services written alike`,
		);
	}

	const images = Object.entries(raw).filter((entry): entry is [string, string] => Boolean(entry[1]));
	// A database's version in a variable (`postgres:${PG_VERSION}`) does not make it a release.
	const ours = ([service]: [string, string]) => {
		const resolved = interpolated[service]?.image;
		return !(resolved && isThirdParty(resolved)) && settings.database?.service !== service;
	};
	const withVariables = images.filter(([, image]) => variablesIn(image).length > 0).filter(ours);
	// The configured (or default) tag variable: today's shape.
	const usingVariable = withVariables.filter(([, image]) => findVariable(image, variable)).map(([s]) => s);
	if (usingVariable.length > 0) {
		const others = withVariables.filter(([s]) => !usingVariable.includes(s)).map(([s]) => s);
		if (others.length > 0) {
			throw new ConsoleError(
				`ambiguous release: ${usingVariable.join(', ')} use \${${variable}} but ${others.join(', ')} other variables; ${setIt}.services to say which services are the release`,
			);
		}
		if (outside.has(variable) && !settings.release.variableSet) {
			throw new ConsoleError(
				`ambiguous release: \${${variable}} is used outside any image too (rolling back would change that as well); ${setIt}.variable: ${variable} to confirm it names the release`,
			);
		}
		return tagVariable(variable, usingVariable, raw, interpolated, false);
	}
	if (withVariables.length > 0) {
		const tags = new Map<string, string>();
		const wholes = new Map<string, string>();
		for (const [service, image] of withVariables) {
			const names = variablesIn(image);
			if (names.length > 1) {
				throw new ConsoleError(
					`ambiguous release: service ${service}'s image "${image}" uses ${names.length} variables (${names.map(n => `\${${n}}`).join(', ')}); ${setIt}.variable to the one that names the release`,
				);
			}
			const name = names[0]!;
			if (wholeVariable(image)) wholes.set(service, name);
			else {
				parseTemplate(service, image, interpolated[service]?.image ?? null, name); // refuses a variable outside the tag
				tags.set(service, name);
			}
		}
		const used = [...new Set([...tags.values(), ...wholes.values()])];
		const shared = used.filter(n => outside.has(n));
		if (shared.length > 0) {
			throw new ConsoleError(
				`ambiguous release: ${shared.map(n => `\${${n}}`).join(', ')} ${shared.length > 1 ? 'are' : 'is'} used outside any image too (rolling back would change that as well); ${setIt}.services (and .variable) to say which services are the release`,
			);
		}
		if (tags.size > 0 && wholes.size > 0) {
			throw new ConsoleError(
				`ambiguous release: ${[...wholes.keys()].join(', ')} take a whole image from a variable but ${[...tags.keys()].join(', ')} only a tag; ${setIt}.services to say which are the release`,
			);
		}
		if (wholes.size > 0) return imageVariables([...wholes.keys()], [...wholes.values()], raw, interpolated, false);
		const tagNames = [...new Set(tags.values())];
		if (tagNames.length > 1) {
			throw new ConsoleError(
				`ambiguous release: the images use different tag variables (${tagNames.map(n => `\${${n}}`).join(', ')}); ${setIt}.variable to the one that names the release`,
			);
		}
		return tagVariable(tagNames[0]!, [...tags.keys()], raw, interpolated, false);
	}
	if (outside.has(variable)) {
		throw new ConsoleError(
			`ambiguous release: \${${variable}} is used outside any image while every image is a literal; ${setIt}.services to name the release services (or use \${${variable}} in their images)`,
		);
	}

	// Shape 1: literal tags. A release service's repository has more than one release tag.
	const count = options.tagCount ?? (() => 2);
	const templates: Record<string, ImageTemplate> = {};
	const why: Record<string, string> = {};
	const single: string[] = [];
	for (const [service, image] of images) {
		if (isThirdParty(image) || settings.database?.service === service) continue;
		const template = literalTemplate(service, image, interpolated[service]?.image ?? null);
		const tags = count(template.repository);
		if (tags > 1) {
			templates[service] = template;
			why[service] = options.tagCount ? `literal tag; ${template.repository} has ${tags} release tags here or in the registry` : 'literal tag';
		} else single.push(`${service} (${image})`);
	}
	const services = Object.keys(templates);
	if (services.length === 0) {
		if (single.length > 0) {
			throw new ConsoleError(
				`ambiguous release: no image uses a variable and ${single.join(', ')} ${single.length > 1 ? 'have' : 'has'} a single tag here and in the registry; ${setIt}.services to name the release services`,
			);
		}
		throw new ConsoleError(
			`no release services: no service's image uses \${${variable}} and every image is a database or third-party one (set x-rollback-console.release.variable or .services in the Compose file)`,
		);
	}
	return finish('literal', '', services, templates, why);
}

/** Shape 2: each service's image is one variable holding the whole reference. */
function imageVariables(
	services: string[],
	names: string[],
	raw: Record<string, string | null>,
	interpolated: Record<string, {image: string | null}>,
	named: boolean,
): ReleaseServices {
	const templates: Record<string, ImageTemplate> = {};
	const why: Record<string, string> = {};
	const variables: Record<string, string> = {};
	services.forEach((service, i) => {
		const resolved = interpolated[service]?.image;
		if (!resolved) {
			throw new ConsoleError(`release service ${service}: \${${names[i]}} is not set (set it in .env to the running image, repo:tag or repo@sha256:…)`);
		}
		templates[service] = literalTemplate(service, raw[service]!, resolved);
		variables[service] = names[i]!;
		why[service] = `${named ? 'named in x-rollback-console.release.services; ' : ''}its whole image is \${${names[i]}}`;
	});
	const byVariable = new Map<string, string>();
	for (const service of services) {
		const other = byVariable.get(variables[service]!);
		if (other && templates[other]!.repository !== templates[service]!.repository) {
			throw new ConsoleError(`ambiguous release: \${${variables[service]}} is the image of both ${other} and ${service}`);
		}
		byVariable.set(variables[service]!, service);
	}
	return finish('image-variable', '', services, templates, why, variables);
}

/** The same in one short line (Scope): the shape, then the services, grouped by why where it says more. */
export function releaseSummary(release: Pick<ReleaseServices, 'shape' | 'variable' | 'variables' | 'services' | 'why'>): string {
	const named = release.services.some(s => release.why[s]?.startsWith('named in'));
	if (release.shape === 'tag-variable') return `shared tag \${${release.variable}} · ${release.services.join(', ')}${named ? ' (named in the settings)' : ''}`;
	if (release.shape === 'image-variable') {
		return `an image variable per service · ${release.services.map(s => `${s} \${${release.variables[s]}}`).join(', ')}${named ? ' (named in the settings)' : ''}`;
	}
	const groups = new Map<string, string[]>();
	for (const s of release.services) {
		const why = (release.why[s] ?? '').replace(/^literal tag; /, '').replace(/^named in x-rollback-console\.release\.services; literal image$/, 'named in the settings');
		groups.set(why, [...(groups.get(why) ?? []), s]);
	}
	return `literal tags · ${[...groups].map(([why, services]) => `${services.join(', ')}${why && why !== 'literal tag' ? ` (${why})` : ''}`).join(' · ')}`;
}

/** How the release was found, as lines for history, Scope and Stabilise: the shape, then each service and why. */
export function releaseLines(release: Pick<ReleaseServices, 'shape' | 'variable' | 'services' | 'why'>): string[] {
	const variable = release.shape === 'tag-variable' ? ` (\${${release.variable}})` : '';
	return [`release: ${shapeText[release.shape]}${variable}`, ...release.services.map(s => `  ${s}: ${release.why[s] ?? '-'}`)];
}
