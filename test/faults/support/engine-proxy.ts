// A unix-socket proxy in front of an Engine, for a fault that must land mid-way through a
// command however fast the command is: from the first request `holdWhen` picks, nothing more
// reaches the Engine (connections and their bytes are held); `dropHeld()` then cuts every held
// connection, as an Engine that died mid-request does.
import net from 'node:net';

export interface HoldingProxy {
	dockerHost: string;
	/** Resolves when the first request `holdWhen` picked arrived (and was held). */
	holding: Promise<void>;
	/** Cuts every held connection; new ones are cut at once. */
	dropHeld(): void;
	close(): Promise<void>;
}

export async function startHoldingProxy(engineSocket: string, socket: string, holdWhen: (request: string) => boolean): Promise<HoldingProxy> {
	let hold = false;
	let dropped = false;
	let held: () => void = () => {};
	const holding = new Promise<void>(resolve => (held = resolve));
	const clients = new Set<net.Socket>();
	const server = net.createServer(client => {
		clients.add(client);
		client.on('close', () => clients.delete(client));
		client.on('error', () => {});
		if (dropped) return void client.destroy();
		if (hold) return; // Held: never connected onwards.
		const engine = net.connect(engineSocket);
		engine.on('error', () => client.destroy());
		client.on('close', () => engine.destroy());
		engine.on('close', () => client.destroy());
		engine.pipe(client);
		client.on('data', (chunk: Buffer) => {
			if (!hold && holdWhen(chunk.toString('latin1'))) {
				hold = true;
				held();
			}
			if (!hold) engine.write(chunk);
		});
	});
	await new Promise<void>(resolve => server.listen(socket, resolve));
	return {
		dockerHost: `unix://${socket}`,
		holding,
		dropHeld() {
			dropped = true;
			for (const client of clients) client.destroy();
		},
		close: () => new Promise(resolve => server.close(() => resolve())),
	};
}
