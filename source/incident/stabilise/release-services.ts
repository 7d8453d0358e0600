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

export interface ReleaseServices {
	variable: string;
	/** Sorted by name. */
	services: string[];
	templates: Record<string, ImageTemplate>;
	/** The distinct repositories of the release services. */
	repositories: string[];
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

/**
 * The release services: those listed in `x-rollback-console.release.services`, else every
 * service whose raw `image:` uses the tag variable. `raw` is `config --no-interpolate`'s view,
 * `interpolated` plain `config`'s.
 */
export function releaseServices(
	settings: Settings,
	raw: Record<string, string | null>,
	interpolated: Record<string, {image: string | null}>,
): ReleaseServices {
	const {variable} = settings.release;
	let services: string[];
	if (settings.release.services) {
		const unknown = settings.release.services.filter(s => !(s in raw));
		if (unknown.length > 0) {
			throw new ConsoleError(`x-rollback-console.release.services: no service named ${unknown.join(', ')} in the Compose file`);
		}
		services = [...settings.release.services];
	} else {
		services = Object.keys(raw).filter(s => raw[s] && findVariable(raw[s]!, variable));
	}
	services.sort();
	if (services.length === 0) {
		throw new ConsoleError(
			`no release services: no service's image uses \${${variable}} (set x-rollback-console.release.variable or .services in the Compose file)`,
		);
	}
	const templates: Record<string, ImageTemplate> = {};
	for (const service of services) {
		const image = raw[service];
		const template = image ? parseTemplate(service, image, interpolated[service]?.image ?? null, variable) : null;
		if (!template) {
			throw new ConsoleError(`release service ${service}: its image "${image ?? '(none)'}" does not use \${${variable}}`);
		}
		templates[service] = template;
	}
	const repositories = [...new Set(services.map(s => templates[s]!.repository))].sort();
	return {variable, services, templates, repositories};
}
