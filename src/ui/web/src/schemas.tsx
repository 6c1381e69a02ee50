/**
 * Schemas: the registry's subjects; one subject's versions, two of them side by side with their
 * differences, a new version tested for compatibility and registered, versions and the subject
 * deleted (soft or permanent, the subject's name typed again), and its compatibility level set.
 * Every refusal is the registry's own message, shown beside what caused it.
 */
import { diffLines } from 'diff';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { post } from './api.tsx';
import { ErrorBox, Loading, useApi } from './common.tsx';

export function SchemasPage() {
  const { data, error } = useApi<{ url: string; subjects: string[] }>('/api/schemas');
  return (
    <section aria-labelledby="schemas-title">
      <h1 id="schemas-title">Schemas</h1>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="subjects" />}
      {data !== undefined && (
        <>
          <p class="muted">Schema Registry {data.url}</p>
          {data.subjects.length === 0 ? (
            <p>No subjects registered.</p>
          ) : (
            <ul>
              {data.subjects.map((s) => (
                <li key={s}>
                  <a href={`#/schemas/${encodeURIComponent(s)}`}>{s}</a>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

interface Version {
  version: number;
  id: number;
  schemaType: string;
  schema: string;
}

interface Subject {
  subject: string;
  compatibility: string;
  versions: Version[];
  /** Soft-deleted versions (the registry's `?deleted=true` beyond the live ones). */
  deletedVersions: Version[];
}

const LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
];

function pretty(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema), null, 2);
  } catch {
    return schema;
  }
}

interface DiffRow {
  left: string | null;
  right: string | null;
  kind: 'same' | 'removed' | 'added' | 'changed';
}

/** Two texts line by line, side by side: removed lines on the left, added on the right, changed paired. */
export function sideBySide(left: string, right: string): DiffRow[] {
  const rows: DiffRow[] = [];
  const parts = diffLines(left, right);
  const lines = (value: string) => value.replace(/\n$/, '').split('\n');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next = parts[i + 1];
    if (part.removed && next?.added) {
      const a = lines(part.value);
      const b = lines(next.value);
      for (let j = 0; j < Math.max(a.length, b.length); j++) {
        rows.push({ left: a[j] ?? null, right: b[j] ?? null, kind: 'changed' });
      }
      i++;
    } else if (part.removed) {
      for (const line of lines(part.value)) rows.push({ left: line, right: null, kind: 'removed' });
    } else if (part.added) {
      for (const line of lines(part.value)) rows.push({ left: null, right: line, kind: 'added' });
    } else {
      for (const line of lines(part.value)) rows.push({ left: line, right: line, kind: 'same' });
    }
  }
  return rows;
}

function Diff({ versions }: { versions: Version[] }) {
  const numbers = versions.map((v) => v.version);
  const [left, setLeft] = useState(String(numbers[numbers.length - 2] ?? numbers[0] ?? ''));
  const [right, setRight] = useState(String(numbers[numbers.length - 1] ?? ''));
  useEffect(() => {
    setLeft(String(numbers[numbers.length - 2] ?? numbers[0] ?? ''));
    setRight(String(numbers[numbers.length - 1] ?? ''));
  }, [numbers.join(',')]);
  const a = versions.find((v) => String(v.version) === left);
  const b = versions.find((v) => String(v.version) === right);
  const rows = useMemo(
    () => (a === undefined || b === undefined ? [] : sideBySide(pretty(a.schema), pretty(b.schema))),
    [a, b],
  );
  const changed = rows.filter((r) => r.kind !== 'same').length;
  const picker = (id: string, label: string, value: string, set: (v: string) => void) => (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
        {numbers.map((n) => (
          <option key={n} value={String(n)}>
            Version {n}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <section aria-labelledby="diff-title">
      <h2 id="diff-title">Compare versions</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        {picker('diff-left', 'Left', left, setLeft)}
        {picker('diff-right', 'Right', right, setRight)}
      </form>
      <p class="muted" role="status">
        {changed === 0 ? 'The two versions are the same.' : `${changed} lines differ.`}
      </p>
      <div class="scroll">
        <table aria-label="Schema diff" class="diff">
          <thead>
            <tr>
              <th scope="col">Version {left}</th>
              <th scope="col">Version {right}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, index) => (
              <tr key={index} data-kind={r.kind}>
                <td class={r.kind === 'removed' || r.kind === 'changed' ? 'removed' : undefined}>
                  <pre>{r.left === null ? '' : `${r.kind === 'same' ? ' ' : '-'} ${r.left}`}</pre>
                </td>
                <td class={r.kind === 'added' || r.kind === 'changed' ? 'added' : undefined}>
                  <pre>{r.right === null ? '' : `${r.kind === 'same' ? ' ' : '+'} ${r.right}`}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function NewVersion({
  subject,
  latest,
  onRegistered,
}: {
  subject: string;
  latest: Version | undefined;
  onRegistered: () => void;
}) {
  const [schemaType, setSchemaType] = useState(latest?.schemaType ?? 'AVRO');
  const [schema, setSchema] = useState(latest === undefined ? '' : pretty(latest.schema));
  const [verdict, setVerdict] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const base = `/api/schemas/${encodeURIComponent(subject)}`;
  const test = async () => {
    setVerdict(undefined);
    setError(undefined);
    try {
      const answer = await post<{ compatible: boolean; messages: string[] }>(`${base}/compatibility`, {
        schema,
        schemaType,
      });
      setVerdict(
        answer.compatible
          ? 'Compatible: it can be registered as the next version.'
          : `Not compatible: ${answer.messages.join('; ') || 'the registry gave no reason'}`,
      );
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const register = async () => {
    setVerdict(undefined);
    setError(undefined);
    try {
      const answer = await post<{ id: number }>(`${base}/versions`, { schema, schemaType });
      setVerdict(`Registered with schema id ${answer.id}.`);
      onRegistered();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <section aria-labelledby="new-version-title">
      <h2 id="new-version-title">New version</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="new-schema-type">Schema type</label>
          <select
            id="new-schema-type"
            value={schemaType}
            onChange={(e) => setSchemaType((e.target as HTMLSelectElement).value)}
          >
            <option value="AVRO">Avro</option>
            <option value="JSON">JSON Schema</option>
            <option value="PROTOBUF">Protobuf</option>
          </select>
        </div>
        <div class="field">
          <label for="new-schema">New schema</label>
          <textarea
            id="new-schema"
            rows={10}
            cols={60}
            value={schema}
            aria-describedby="new-schema-result"
            onInput={(e) => setSchema((e.target as HTMLTextAreaElement).value)}
          />
        </div>
        <button type="button" onClick={() => void test()}>
          Test compatibility
        </button>
        <button type="button" class="primary" onClick={() => void register()}>
          Register
        </button>
      </form>
      <div id="new-schema-result">
        <ErrorBox message={error} />
        {verdict !== undefined && (
          <p class={verdict.startsWith('Not') ? 'error' : 'notice'} role="status">
            {verdict}
          </p>
        )}
      </div>
    </section>
  );
}

export function SubjectPage({ subject }: { subject: string }) {
  const path = `/api/schemas/${encodeURIComponent(subject)}`;
  const { data, error, reload } = useApi<Subject>(path);
  const [level, setLevel] = useState<string | undefined>(undefined);
  const [confirm, setConfirm] = useState('');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const run = async (what: () => Promise<string>) => {
    setNotice(undefined);
    setActionError(undefined);
    try {
      setNotice(await what());
      reload();
    } catch (failure) {
      setActionError((failure as Error).message);
    }
  };
  const setCompatibility = () =>
    run(async () => {
      const answer = await post<{ compatibility: string }>(`${path}/config`, {
        compatibility: level ?? data?.compatibility,
      });
      return `Compatibility level set to ${answer.compatibility}.`;
    });
  const deleteVersion = (version: number, permanent: boolean) =>
    run(async () => {
      await post(`${path}/versions/${version}/delete`, { confirm, permanent });
      return `Version ${version} ${permanent ? 'permanently deleted' : 'soft deleted'}.`;
    });
  const deleteSubject = (permanent: boolean) =>
    run(async () => {
      await post(`${path}/delete`, { confirm, permanent });
      return `Subject ${subject} ${permanent ? 'permanently deleted' : 'soft deleted'}.`;
    });
  const latest = data?.versions[data.versions.length - 1];
  return (
    <section aria-labelledby="subject-title">
      <p>
        <a href="#/schemas">← Schemas</a>
      </p>
      <h1 id="subject-title">{subject}</h1>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="the subject" />}
      {data !== undefined && (
        <>
          <p>
            Compatibility level: <strong id="compatibility-level">{data.compatibility}</strong>
          </p>
          <form class="inline" onSubmit={(e) => e.preventDefault()}>
            <div class="field">
              <label for="compatibility-select">New compatibility level</label>
              <select
                id="compatibility-select"
                value={level ?? data.compatibility}
                onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}
              >
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </div>
            <button type="button" onClick={() => void setCompatibility()}>
              Set level
            </button>
            <div class="field">
              <label for="delete-confirm">Type the subject to confirm deletes</label>
              <input
                id="delete-confirm"
                value={confirm}
                onInput={(e) => setConfirm((e.target as HTMLInputElement).value)}
              />
            </div>
            <button type="button" class="danger" onClick={() => void deleteSubject(false)}>
              Delete subject
            </button>
            <button type="button" class="danger" onClick={() => void deleteSubject(true)}>
              Delete subject permanently
            </button>
          </form>
          <div id="subject-result">
            <ErrorBox message={actionError} />
            {notice !== undefined && (
              <p class="notice" role="status">
                {notice}
              </p>
            )}
          </div>
          {data.versions.length > 1 && <Diff versions={data.versions} />}
          <NewVersion key={latest?.version ?? 0} subject={subject} latest={latest} onRegistered={reload} />
          <h2>Versions</h2>
          {data.versions.map((v) => (
            <article key={v.version} aria-label={`Version ${v.version}`}>
              <h3>
                Version {v.version} <span class="tag">id {v.id}</span> <span class="tag">{v.schemaType}</span>
              </h3>
              <p>
                <button type="button" class="danger" onClick={() => void deleteVersion(v.version, false)}>
                  Delete version {v.version}
                </button>{' '}
                <button type="button" class="danger" onClick={() => void deleteVersion(v.version, true)}>
                  Delete version {v.version} permanently
                </button>
              </p>
              <pre>{pretty(v.schema)}</pre>
            </article>
          ))}
          {data.deletedVersions.length > 0 && (
            <>
              <h2>Soft-deleted versions</h2>
              {data.deletedVersions.map((v) => (
                <article key={v.version} aria-label={`Soft-deleted version ${v.version}`}>
                  <h3>
                    Version {v.version} <span class="tag">id {v.id}</span>{' '}
                    <span class="tag">{v.schemaType}</span> <span class="tag">soft deleted</span>
                  </h3>
                  <p>
                    <button type="button" class="danger" onClick={() => void deleteVersion(v.version, true)}>
                      Delete version {v.version} permanently
                    </button>
                  </p>
                  <pre>{pretty(v.schema)}</pre>
                </article>
              ))}
            </>
          )}
        </>
      )}
    </section>
  );
}
