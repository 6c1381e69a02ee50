/** Schemas: the registry's subjects; one subject's versions and compatibility level. */
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

interface Subject {
  subject: string;
  compatibility: string;
  versions: { version: number; id: number; schemaType: string; schema: string }[];
}

function pretty(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema), null, 2);
  } catch {
    return schema;
  }
}

export function SubjectPage({ subject }: { subject: string }) {
  const { data, error } = useApi<Subject>(`/api/schemas/${encodeURIComponent(subject)}`);
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
            Compatibility level: <strong>{data.compatibility}</strong>
          </p>
          {data.versions.map((v) => (
            <article key={v.version} aria-label={`Version ${v.version}`}>
              <h2>
                Version {v.version} <span class="tag">id {v.id}</span> <span class="tag">{v.schemaType}</span>
              </h2>
              <pre>{pretty(v.schema)}</pre>
            </article>
          ))}
        </>
      )}
    </section>
  );
}
