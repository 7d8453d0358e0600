import {basename} from 'node:path';
import {isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar, type YAMLMap} from 'yaml';
import {ConsoleError} from '../../errors.js';

/**
 * Pins release services in the Compose file itself (literal tags, when the auto-loaded
 * override is not ours to write): only the characters of each `image:` value change; every
 * other byte — comments, anchors, indentation, quoting — stays as it was. The value is found
 * through aliases and merge keys (`<<: *app`), and edited where the anchor defines it.
 */

export interface ComposeText {
	path: string;
	text: string;
}

export interface FileEdit {
	path: string;
	before: string;
	after: string;
}

interface Found {
	file: number;
	node: Scalar;
}

function lookupImage(doc: Document, map: YAMLMap, depth = 0): Scalar | null {
	if (depth > 10) return null;
	for (const pair of map.items) {
		if (isScalar(pair.key) && pair.key.value === 'image') {
			const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
			return isScalar(value) ? value : null;
		}
	}
	// Merge keys: the first mapping merged in that has an image (YAML merge order).
	for (const pair of map.items) {
		if (!isScalar(pair.key) || pair.key.value !== '<<') continue;
		const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
		for (const source of sources) {
			const resolved = isAlias(source) ? source.resolve(doc) : (source as Node | null);
			if (isMap(resolved)) {
				const found = lookupImage(doc, resolved, depth + 1);
				if (found) return found;
			}
		}
	}
	return null;
}

function serviceMap(doc: Document, service: string): YAMLMap | null {
	const services = doc.get('services', true);
	const resolvedServices = isAlias(services) ? services.resolve(doc) : services;
	if (!isMap(resolvedServices)) return null;
	const node = resolvedServices.get(service, true);
	const resolved = isAlias(node) ? node.resolve(doc) : node;
	return isMap(resolved) ? resolved : null;
}

/** The scalar as it should be written: in the style it was written in. */
function written(node: Scalar, value: string): string {
	if (node.type === 'QUOTE_DOUBLE') return JSON.stringify(value);
	if (node.type === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
	return value;
}

/**
 * Each file's new text with each service's `image:` set to `images[service]`. The last file
 * that sets a service's image is the one compose takes it from, so that one is edited.
 * Files that do not change are left out.
 */
export function editComposeImages(files: readonly ComposeText[], images: Record<string, string>): FileEdit[] {
	const docs = files.map(f => {
		const doc = parseDocument(f.text, {keepSourceTokens: true});
		if (doc.errors.length > 0) throw new ConsoleError(`${basename(f.path)} does not parse as YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
		return doc;
	});
	const edits = new Map<number, Map<number, {end: number; text: string; value: string; services: string[]}>>();
	for (const [service, image] of Object.entries(images)) {
		let found: Found | null = null;
		for (let i = files.length - 1; i >= 0 && !found; i--) {
			const map = serviceMap(docs[i]!, service);
			const node = map ? lookupImage(docs[i]!, map) : null;
			if (node) found = {file: i, node};
		}
		if (!found || !found.node.range) {
			throw new ConsoleError(`cannot find the image line of service ${service} in ${files.map(f => basename(f.path)).join(', ')}: set x-rollback-console.release.persist: override`);
		}
		if (found.node.type === 'BLOCK_LITERAL' || found.node.type === 'BLOCK_FOLDED') {
			throw new ConsoleError(`service ${service}: its image is a block scalar; write it on one line to let rollback-console pin it`);
		}
		const [start, end] = found.node.range;
		const perFile = edits.get(found.file) ?? new Map();
		const same = perFile.get(start);
		if (same && same.value !== image) {
			// One anchored value shared by services that are to run different images.
			throw new ConsoleError(`services ${[...same.services, service].join(' and ')} share one image line (an anchor) but need different images`);
		}
		perFile.set(start, {end, text: written(found.node, image), value: image, services: [...(same?.services ?? []), service]});
		edits.set(found.file, perFile);
	}
	const result: FileEdit[] = [];
	for (const [index, perFile] of [...edits].sort((a, b) => a[0] - b[0])) {
		const before = files[index]!.text;
		let after = before;
		for (const [start, edit] of [...perFile].sort((a, b) => b[0] - a[0])) after = after.slice(0, start) + edit.text + after.slice(edit.end);
		if (after !== before) result.push({path: files[index]!.path, before, after});
	}
	return result;
}
