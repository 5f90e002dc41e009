// Whether the server can listen where it was asked, found out before the model loads (seconds) and turned
// into a coded error that names --port, instead of Node's EADDRINUSE after the wait.
import net from 'node:net';

import { ServerError } from './errors';

/** Binds `host:port` and lets go. Port 0 (any free port) always passes. @throws SR_ERR_PORT_IN_USE */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? portInUse(host, port) : e));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The error for a port another program holds (also when listen() itself finds it taken). */
export function portInUse(host: string, port: number): ServerError {
  return new ServerError(
    'SR_ERR_PORT_IN_USE',
    `port ${port} on ${host} is already in use (another phasesr serve?): stop that program, or choose another port with --port N (--port 0: any free port)`,
  );
}
