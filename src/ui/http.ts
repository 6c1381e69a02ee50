/**
 * The one HTTP client of the UI's services (the Schema Registry, Connect, the fault control): a
 * JSON request with a time limit, the answer parsed, and the service's own refusal or silence turned
 * into the UiError the caller names. What differs between services is a parameter.
 */
import type { UiError } from './errors.ts';

export interface JsonRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  /** Sent as JSON; none when undefined. */
  readonly body?: unknown;
  /** The media type asked for and sent (the registry's own, else application/json). */
  readonly mediaType?: string;
  readonly timeoutMs: number;
  /** The error when the service does not answer (no connection, the time limit). */
  readonly unreachable: (message: string) => UiError;
  /** The error for an answer that is not 2xx: its status, its JSON (undefined when not JSON), its text. */
  readonly refused: (status: number, answer: unknown, text: string) => UiError;
}

/** The answer's JSON (null for an empty body, undefined when it is not JSON) and its text. */
export async function requestJson(request: JsonRequest): Promise<{ answer: unknown; text: string }> {
  const mediaType = request.mediaType ?? 'application/json';
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      signal: AbortSignal.timeout(request.timeoutMs),
      headers: {
        accept: mediaType,
        ...(request.body === undefined ? {} : { 'content-type': mediaType }),
      },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
  } catch (error) {
    throw request.unreachable((error as Error).message);
  }
  const text = await response.text();
  let answer: unknown;
  try {
    answer = text === '' ? null : JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (!response.ok) throw request.refused(response.status, answer, text);
  return { answer, text };
}

/** A refusal's own message (`{message}` as Connect, the registry and the fault control send it), else its text. */
export function messageOf(answer: unknown, text: string): string {
  const message = (answer as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : text.slice(0, 500);
}

/** A service's 4xx passed on as is; anything else is the service failing: 502. */
export const passedOnStatus = (status: number): number => (status >= 400 && status < 500 ? status : 502);
