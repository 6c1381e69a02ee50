// The public interface of the sans-I/O protocol core. See README.md beside this file.
export * from './apis/index.ts';
export * from './consumer-protocol.ts';
export * from './errors.ts';
export * from './frames.ts';
export * from './headers.ts';
export * from './protocol-error.ts';
export * from './reader.ts';
export * from './schema.ts';
export * from './uuid.ts';
export * from './writer.ts';
