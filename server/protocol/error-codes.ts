// The error table is models/error-codes.ts (one table for models/, server/, the viewer and the clients);
// the protocol module re-exports it so that its users import codes from one place.
export * from '../../models/error-codes';
