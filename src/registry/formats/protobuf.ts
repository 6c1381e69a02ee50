/**
 * Protobuf through protobufjs: `.proto` text, or the `format=serialized` form Confluent's serdes
 * register (a base64 FileDescriptorProto, decoded with protobufjs's descriptor extension). Imports
 * are references (their name is the import path); `google/protobuf/*.proto` well-known types come
 * from protobufjs's bundled definitions when no reference names them. Every type must resolve.
 *
 * Compatibility compares the two descriptors as Confluent's diff does, by wire-level readability:
 * a removed message, a changed package, a field whose kind (singular/repeated) or wire type changed,
 * a field moved into an existing oneof and a proto2 required field added or removed break it;
 * added or removed fields, renamed fields, added messages and enum changes do not.
 */
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { errors } from '../errors.ts';
import type { ParsedSchema, ResolvedReference, SchemaFormat } from './types.ts';

export interface ProtobufSchema extends ParsedSchema {
  readonly root: protobuf.Root;
  /** The packages of the main file (empty string for none). */
  readonly packageName: string;
  /** Full names (no leading dot) of the messages the main file defines. */
  readonly messageNames: readonly string[];
  /** The main file as a FileDescriptorProto (for `format=serialized`). */
  readonly serialized: string;
}

const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;

/** Moves what `from` defines into `into`, merging namespaces that both define (packages). */
function merge(into: protobuf.Namespace, from: protobuf.Namespace): void {
  for (const child of [...from.nestedArray]) {
    const existing = into.get(child.name);
    if (
      existing instanceof protobuf.Namespace &&
      !(existing instanceof protobuf.Type) &&
      child instanceof protobuf.Namespace &&
      !(child instanceof protobuf.Type)
    ) {
      merge(existing, child);
    } else {
      from.remove(child);
      into.add(child);
    }
  }
}

interface FileInfo {
  packageName: string;
  imports: string[];
  descriptorBytes: Uint8Array | null;
}

function addFile(root: protobuf.Root, text: string): FileInfo {
  const trimmed = text.trim();
  if (!/\b(syntax|message|package|enum|import|service|edition)\b/.test(trimmed) && BASE64.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as descriptor.IFileDescriptorProto;
    const fileRoot = protobuf.Root.fromDescriptor({ file: [file] }, { keepCase: true });
    const packageName = file.package ?? '';
    merge(root, fileRoot);
    return {
      packageName,
      imports: file.dependency ?? [],
      descriptorBytes: bytes,
    };
  }
  const parsed = protobuf.parse(text, root, { keepCase: true, alternateCommentMode: true });
  return {
    packageName: parsed.package ?? '',
    imports: [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])],
    descriptorBytes: null,
  };
}

function allTypeNames(namespace: protobuf.NamespaceBase): string[] {
  const names: string[] = [];
  for (const child of namespace.nestedArray) {
    if (child instanceof protobuf.Type) names.push(child.fullName.slice(1));
    if (child instanceof protobuf.Namespace) names.push(...allTypeNames(child));
  }
  return names;
}

function loadWellKnown(root: protobuf.Root, name: string): void {
  const json = protobuf.common.get(name);
  if (json?.nested !== undefined) root.addJSON(json.nested);
}

function serializeMain(text: string, info: FileInfo): string {
  if (info.descriptorBytes !== null) return Buffer.from(info.descriptorBytes).toString('base64');
  // A text schema: re-parse it alone (unresolved types stay names) and encode its descriptor.
  try {
    const alone = protobuf.parse(text, { keepCase: true }).root;
    const set = alone.toDescriptor('proto3');
    const file = set.file[0];
    if (file === undefined) return '';
    file.dependency = info.imports;
    return Buffer.from(descriptor.FileDescriptorProto.encode(file).finish()).toString('base64');
  } catch {
    return '';
  }
}

export const protobufFormat: SchemaFormat<ProtobufSchema> = {
  type: 'PROTOBUF',

  parse(text: string, references: readonly ResolvedReference[]): ProtobufSchema {
    const root = new protobuf.Root();
    let info: FileInfo;
    let messageNames: string[];
    try {
      const given = new Set(references.map((r) => r.name));
      for (const reference of references) {
        root.files.push(reference.name);
        addFile(root, reference.schema);
      }
      const before = new Set(allTypeNames(root));
      info = addFile(root, text);
      for (const name of info.imports) {
        if (!given.has(name)) {
          if (name.startsWith('google/protobuf/')) loadWellKnown(root, name);
          else throw new Error(`import "${name}" has no reference: register it and name it in references`);
        }
      }
      root.resolveAll();
      messageNames = allTypeNames(root).filter(
        (name) =>
          !before.has(name) &&
          (info.packageName.startsWith('google.protobuf') || !name.startsWith('google.protobuf.')),
      );
    } catch (error) {
      throw errors.invalidSchema((error as Error).message);
    }
    return {
      type: 'PROTOBUF',
      canonical: text,
      normalized: text,
      root,
      packageName: info.packageName,
      messageNames,
      serialized: serializeMain(text, info),
    };
  },

  readerProblems(reader: ProtobufSchema, writer: ProtobufSchema): string[] {
    const problems: string[] = [];
    if (reader.packageName !== writer.packageName) {
      problems.push(`PACKAGE_CHANGED: '${writer.packageName}' became '${reader.packageName}'`);
    }
    for (const name of writer.messageNames) {
      const writerType = lookupType(writer.root, name);
      const readerType = lookupType(reader.root, name);
      if (writerType === null) continue;
      if (readerType === null) {
        problems.push(`MESSAGE_REMOVED: ${name}`);
        continue;
      }
      compareMessages(readerType, writerType, new Set(), problems);
    }
    return problems;
  },
};

function lookupType(root: protobuf.Root, name: string): protobuf.Type | null {
  try {
    return root.lookupType(name);
  } catch {
    return null;
  }
}

/** Scalar types that read each other's encoding (Confluent's compatible groups). */
const WIRE_GROUP: Record<string, string> = {
  string: 'length-delimited',
  bytes: 'length-delimited',
  int32: 'varint',
  uint32: 'varint',
  int64: 'varint',
  uint64: 'varint',
  bool: 'varint',
  sint32: 'zigzag',
  sint64: 'zigzag',
  fixed32: 'fixed32',
  sfixed32: 'fixed32',
  fixed64: 'fixed64',
  sfixed64: 'fixed64',
  float: 'float',
  double: 'double',
};

function typeKey(field: protobuf.Field): string {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return 'varint';
  if (resolved instanceof protobuf.Type) return `message ${resolved.fullName.slice(1)}`;
  return WIRE_GROUP[field.type] ?? field.type;
}

function compareMessages(
  reader: protobuf.Type,
  writer: protobuf.Type,
  seen: Set<string>,
  problems: string[],
): void {
  const key = `${reader.fullName}|${writer.fullName}`;
  if (seen.has(key)) return;
  seen.add(key);
  const where = writer.fullName.slice(1);
  for (const writerField of writer.fieldsArray) {
    const readerField = reader.fieldsById[writerField.id];
    if (readerField === undefined) {
      if (writerField.required)
        problems.push(`REQUIRED_FIELD_REMOVED: ${where}.${writerField.name} (${writerField.id})`);
      continue;
    }
    if (readerField.repeated !== writerField.repeated || readerField.map !== writerField.map) {
      problems.push(`FIELD_KIND_CHANGED: ${where}.${writerField.name} (${writerField.id})`);
      continue;
    }
    const readerKey = typeKey(readerField);
    const writerKey = typeKey(writerField);
    if (readerKey !== writerKey) {
      const kind = readerKey.startsWith('message') || writerKey.startsWith('message') ? 'NAMED' : 'SCALAR';
      problems.push(
        `FIELD_${kind}_TYPE_CHANGED: ${where}.${writerField.name} (${writerField.id}) ${writerField.type} → ${readerField.type}`,
      );
    } else if (
      readerField.resolvedType instanceof protobuf.Type &&
      writerField.resolvedType instanceof protobuf.Type
    ) {
      compareMessages(readerField.resolvedType, writerField.resolvedType, seen, problems);
    }
    const readerOneof = readerField.partOf?.name;
    const writerOneof = writerField.partOf?.name;
    if (readerOneof !== undefined && writerOneof === undefined) {
      const oneofExisted = writer.oneofsArray.some((o) => o.name === readerOneof);
      if (oneofExisted)
        problems.push(`FIELD_MOVED_TO_EXISTING_ONEOF: ${where}.${writerField.name} (${writerField.id})`);
    }
  }
  for (const readerField of reader.fieldsArray) {
    if (readerField.required && writer.fieldsById[readerField.id] === undefined) {
      problems.push(`REQUIRED_FIELD_ADDED: ${where}.${readerField.name} (${readerField.id})`);
    }
  }
}
