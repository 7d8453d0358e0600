/** An image reference split the way the registry sees it: registry/repository:tag@digest. */
export interface ImageRef {
	/** Registry host (with port), or null for Docker Hub's default. */
	registry: string | null;
	repository: string;
	tag: string | null;
	digest: string | null;
}

export function parseImageRef(reference: string): ImageRef {
	let rest = reference.trim();
	let digest: string | null = null;
	const at = rest.indexOf('@');
	if (at !== -1) {
		digest = rest.slice(at + 1);
		rest = rest.slice(0, at);
	}
	let tag: string | null = null;
	// A colon after the last slash is a tag; before it, it is a registry port.
	const colon = rest.lastIndexOf(':');
	if (colon > rest.lastIndexOf('/')) {
		tag = rest.slice(colon + 1);
		rest = rest.slice(0, colon);
	}
	let registry: string | null = null;
	const slash = rest.indexOf('/');
	if (slash !== -1) {
		const first = rest.slice(0, slash);
		if (first.includes('.') || first.includes(':') || first === 'localhost') {
			registry = first;
			rest = rest.slice(slash + 1);
		}
	}
	if (tag === null && digest === null) tag = 'latest';
	return {registry, repository: rest, tag, digest};
}

/** registry/repository, the name RepoDigests are keyed by. */
export function repositoryName(ref: ImageRef): string {
	return ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
}

/** The digest of `reference`'s repository among an image's RepoDigests, if any. */
export function digestFor(reference: string, repoDigests: readonly string[]): string | null {
	const name = repositoryName(parseImageRef(reference));
	const bare = name.replace(/^docker\.io\/(library\/)?/, '');
	for (const entry of repoDigests) {
		const [repo, digest] = entry.split('@');
		if (!digest) continue;
		if (repo === name || repo === bare || repo === `docker.io/library/${bare}` || repo === `docker.io/${bare}`) return digest;
	}
	return null;
}
