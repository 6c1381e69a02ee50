// Public surface of the record-batch codec. See README.md.
export * from './batch.ts';
export * from './codec.ts';
export * from './compression.ts';
export { crc32c, crc32cImplementation, crc32cSoftware } from './crc32c.ts';
export * from './errors.ts';
export * from './produce.ts';
export * from './recompress.ts';
export * from './record.ts';
export * from './varint.ts';
export * from './walk.ts';
