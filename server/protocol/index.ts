// The phasesr wire protocol, imported by the server, the viewer and every client (docs/protocol.md).
// Browser-safe: nothing here imports Node modules.
export * from './messages';
export * from './binary-frame';
export * from './error-codes';
export * from './deep-zoom';
export * from './raw-filter';
export * from './session';
