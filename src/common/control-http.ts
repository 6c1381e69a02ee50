/**
 * The error answers of kstack's JSON control endpoints (the cluster's fault control, the testing
 * API's control server): `{ error_code, message }` with the status of the endpoint's own error
 * class, fastify's 4xx (a body that fails its schema, a bad JSON) as REQUEST_INVALID, anything else
 * as a 500 INTERNAL, and an unknown route as a 404 NOT_FOUND naming the routes there are.
 */
import type { FastifyInstance } from 'fastify';

/** An endpoint's own error: a stable code and the HTTP status it answers with. */
export interface ControlError extends Error {
  readonly code: string;
  readonly httpStatus: number;
}

export function useControlErrors(
  app: FastifyInstance,
  isOwn: (error: unknown) => error is ControlError,
  routesHint: string,
): void {
  app.setErrorHandler((error, _request, reply) => {
    if (isOwn(error)) {
      return reply.code(error.httpStatus).send({ error_code: error.code, message: error.message });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error_code: 'REQUEST_INVALID', message: (error as Error).message });
    }
    return reply.code(500).send({ error_code: 'INTERNAL', message: String(error) });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error_code: 'NOT_FOUND', message: `no ${request.method} ${request.url}: ${routesHint}` }),
  );
}
