// Public API of server/: the server class, its options, and the protocol module every client imports.
export { PhasesrServer, SERVER_NAME } from './phasesr-server';
export { SERVER_DEFAULTS, type ServerOptions } from './config';
export { ServerError } from './errors';
export { checkPortFree } from './port-check';
export type { Connection, ChunkSink } from './ws/connection';
export type { MessageHandler } from './ws/ws-hub';
export * as protocol from './protocol';
