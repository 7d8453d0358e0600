// Integration-test helper: a throwaway image repository in the local registry
// (127.0.0.1:5000/rct-<hex>/app), for tests that re-push a tag or delete local images, so the
// shared rct/app tags other test files use are never disturbed.
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {promisify} from 'node:util';
import {ROOT, TEST_REPO, type Stack} from './stack.js';

const execFileAsync = promisify(execFile);

interface Images {
	buildRelease(options: {repo: string; tag: string; broken?: boolean}): Promise<{ref: string}>;
	fixtureDigest(): Promise<string>;
	APP_DIR: string;
}

const images = (): Promise<Images> => import(pathToFileURL(join(ROOT, 'scripts', 'images.mjs')).href) as Promise<Images>;

export const docker = async (args: string[], env: NodeJS.ProcessEnv = {}) =>
	(await execFileAsync('docker', args, {env: {...process.env, ...env}, maxBuffer: 16 << 20, timeout: 180_000})).stdout;

export const newRepo = (registry = '127.0.0.1:5000') => `${registry}/rct-${randomBytes(4).toString('hex')}/app`;

/** Builds and pushes a release with scripts/images.mjs (shares layers, and usually the image, with rct/app). */
export async function buildRelease(repo: string, tag: string, broken = false): Promise<void> {
	await (await images()).buildRelease({repo, tag, broken});
}

/** Builds an image no other repository has (a unique label), and pushes it: deleting it locally really deletes it. */
export async function buildUnique(repo: string, tag: string, {push = true}: {push?: boolean} = {}): Promise<void> {
	const {fixtureDigest, APP_DIR} = await images();
	await docker(
		[
			'build',
			'--quiet',
			'--build-arg',
			`RELEASE=${tag}`,
			'--build-arg',
			'BROKEN=0',
			'--build-arg',
			`FIXTURE_HASH=${await fixtureDigest()}`,
			'--label',
			`io.rollback-console.test.unique=${randomBytes(6).toString('hex')}`,
			'--tag',
			`${repo}:${tag}`,
			APP_DIR,
		],
		{DOCKER_BUILDKIT: '0'},
	);
	if (push) await docker(['push', `${repo}:${tag}`]);
}

/** The registry's digest of repo:tag (plain HTTP: only 127.0.0.0/8 registries here). */
export async function registryDigest(repo: string, tag: string): Promise<string | null> {
	const slash = repo.indexOf('/');
	const response = await fetch(`http://${repo.slice(0, slash)}/v2/${repo.slice(slash + 1)}/manifests/${tag}`, {
		method: 'HEAD',
		headers: {Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'},
	});
	return response.ok ? response.headers.get('docker-content-digest') : null;
}

/** Points a stack's release services at another repository (the fixture names rct/app). */
export async function useRepo(stack: Stack, repo: string): Promise<void> {
	const file = join(stack.dir, 'compose.yaml');
	const text = await readFile(file, 'utf8');
	await writeFile(file, text.replaceAll(TEST_REPO, repo).replaceAll('${TEST_REPO}', repo));
}

/** Removes every local image of the repository (tags and digests); never throws. */
export async function removeLocalImages(repo: string): Promise<void> {
	try {
		const refs = (await docker(['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}', repo]))
			.split(/\s+/)
			.filter(r => r && !r.endsWith(':<none>') && !r.endsWith('@<none>'));
		if (refs.length > 0) await docker(['rmi', '--force', ...new Set(refs)]).catch(() => '');
	} catch {
		// Best effort.
	}
}
