import {locateProject} from '../engine/compose-project.js';
import {ConsoleError, exitCodes} from '../errors.js';
import {lockState} from '../incident/project-lock.js';
import {rolledBackNote, type Candidate} from '../incident/stabilise/releases.js';
import {releaseLines} from '../incident/stabilise/release-services.js';
import {gather, listCandidates} from '../incident/stabilise/prepare.js';
import {latestRun} from '../incident/stabilise/runs.js';
import {resolveStateDir} from '../incident/state-dir.js';
import {formatTable, shortId, useColor, type Tone} from '../presentation/format.js';
import type {GlobalOptions} from './global-options.js';
import {listIncidents, type IncidentSummary} from '../incident/follow-up/incidents.js';

const minute = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');

/** Past and open incidents, newest first. */
function incidentsTable(incidents: readonly IncidentSummary[], color: boolean): string {
	if (incidents.length === 0) return 'incidents: none recorded on this box';
	const rows = [...incidents].reverse().map(i => [i.id, minute(i.openedAt), i.closedAt ? minute(i.closedAt) : 'open', i.from || i.to ? `${i.from ?? '?'} → ${i.to ?? '?'}` : '-', i.outcome]);
	return formatTable(['INCIDENT', 'OPENED (UTC)', 'CLOSED (UTC)', 'FROM → TO', 'OUTCOME'], rows, {color});
}
import {connectStabilise} from '../console/connect-stabilise.js';


function status(c: Candidate): string {
	const marks: string[] = [];
	if (c.current) marks.push('current');
	if (c.lastKnownGood) marks.push(c.lastKnownGoodFrom === 'preflight' ? 'last known good (healthy at a deploy\'s preflight)' : 'last known good');
	if (c.verified) marks.push('verified');
	else if (c.rolledBack) marks.push(rolledBackNote(c) ?? 'rolled back from');
	else if (c.recorded) marks.push(c.recorded.lastEvent);
	if (c.repushed) marks.push('re-pushed since verified');
	return marks.join(', ') || '-';
}

function githubCell(c: Candidate): string {
	if (!c.github) return '-';
	const date = c.github.publishedAt ? c.github.publishedAt.slice(0, 10) : '';
	const text = [date, c.github.note ?? c.github.name ?? ''].filter(Boolean).join(' ');
	return text.length > 50 ? `${text.slice(0, 49)}…` : text || c.github.tag;
}

/** `history`: the rollback candidates, newest first. Changes nothing. */
export async function run(options: GlobalOptions, args: string[] = []): Promise<number> {
	if (args.length > 0) throw new ConsoleError(`history: unexpected argument "${args[0]}"`);
	const project = locateProject(options);
	const outside = connectStabilise();
	const stateDir = await resolveStateDir({flag: options.stateDir, env: process.env});
	const gathered = await gather(outside, project, stateDir.dir);
	const [{candidates, registryError, githubError}, lock, last, incidents] = await Promise.all([
		listCandidates(outside, gathered),
		lockState(gathered.projectDir),
		latestRun(gathered.projectDir),
		listIncidents(gathered.projectDir),
	]);
	const good = candidates.find(c => c.lastKnownGood) ?? null;
	if (options.json) {
		const json = {
			project: gathered.loaded.name,
			shape: gathered.release.shape,
			variable: gathered.release.variable,
			variables: gathered.release.variables,
			releaseServices: gathered.release.services,
			why: gathered.release.why,
			repository: gathered.release.repositories[0],
			repositories: gathered.release.repositories,
			current: gathered.currentTag,
			lastKnownGood: good?.tag ?? null,
			registryError: registryError?.message ?? null,
			githubError: githubError ?? null,
			lock: lock.state === 'free' ? {state: 'free'} : lock,
			lastRun: last ? {runId: last.runId, running: last.running, output: last.paths.output, result: last.result} : null,
			candidates,
			records: gathered.records,
			incidents: incidents.map(({dir: _dir, ...i}) => i),
		};
		process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
		return exitCodes.ok;
	}
	const color = useColor(process.stdout, process.env, options.color);
	const tones: Array<Array<Tone | undefined>> = [];
	const rows = candidates.map(c => {
		tones.push([c.lastKnownGood ? 'good' : c.current ? 'warn' : undefined, c.lastKnownGood ? 'good' : c.repushed ? 'warn' : undefined]);
		return [
			`${c.lastKnownGood ? '★ ' : c.current ? '▶ ' : '  '}${c.tag}`,
			status(c),
			c.registry.present === null ? '?' : c.registry.present ? shortId(c.registry.digest) : 'no',
			c.recorded ? shortId(c.recorded.digests[gathered.release.services[0]!] ?? null) : '-',
			c.local ? shortId(c.local.digest ?? c.local.imageId.replace('sha256:', '')) : 'no',
			c.verifiedAt ? c.verifiedAt.slice(0, 16).replace('T', ' ') : '-',
		];
	});
	const github = Boolean(gathered.loaded.settings.release.github);
	const headers = ['TAG', 'STATUS', 'REGISTRY', 'RECORDED', 'LOCAL', 'VERIFIED (UTC)', ...(github ? ['GITHUB RELEASE'] : [])];
	if (github) rows.forEach((row, i) => row.push(githubCell(candidates[i]!)));
	const lines = [formatTable(headers, rows, {color, tones}), ''];
	const {release} = gathered;
	lines.push(`${gathered.loaded.name}: ${release.services.join(', ')} from ${release.repositories.join(', ')}`);
	lines.push(...releaseLines(release));
	lines.push(`current: ${gathered.currentTag ?? '-'} · last known good: ${good?.tag ?? 'none (no older release verified here and not rolled back from since)'}`);
	if (registryError) lines.push(`registry: ${registryError.message}`);
	if (githubError) lines.push(`github: ${githubError}`);
	if (lock.state !== 'free') lines.push(`lock: ${lock.state} — ${lock.holder.user}, pid ${lock.holder.pid}: ${lock.holder.what}`);
	if (last) {
		lines.push(
			last.running
				? `last run: ${last.runId} still running (output: ${last.paths.output})`
				: `last run: ${last.runId} ${last.result ? (last.result.success ? 'succeeded' : `failed: ${last.result.message}`) : 'ended without a result'}`,
		);
	}
	lines.push('', incidentsTable(incidents, color));
	process.stdout.write(`${lines.join('\n')}\n`);
	return exitCodes.ok;
}
