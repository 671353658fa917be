import type { ErrorCode, ErrorEnvelope } from '@keyhold/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { AppError } from '../errors.js';

/** Fastify's own error codes that map to a stable Keyhold code. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'The request body is empty but declared as JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'This content type is not supported here' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'VALIDATION_FAILED', message: 'The Content-Length header does not match the body' },
};

/**
 * A reset of the request's own stream before its body ended: the client dropped the connection.
 * The same code from anywhere else (a database socket, an upstream call) is a server failure.
 */
function clientAbortedBody(err: FastifyError, req: FastifyRequest): boolean {
  return err.code === 'ECONNRESET' && (req.raw.errored === err || req.raw.readableAborted);
}

function envelope(req: FastifyRequest, code: ErrorCode, error: string, actions?: AppError['actions']): ErrorEnvelope {
  return { success: false, error, code, ...(actions ? { actions } : {}), requestId: req.id };
}

/**
 * The only place errors become HTTP responses. An AppError is shown as written; validation
 * errors name the field; anything else is a generic 500 with the request id and no internals
 * (the cause is logged server-side).
 */
export function installErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AppError) {
      // A tenant that has not set up an integration is its setup, not a fault of the server: no error-level log (alerts).
      if (err.code === 'INTEGRATION_NOT_CONFIGURED') req.log.info({ code: err.code }, 'integration not configured');
      else if (err.httpStatus >= 500) req.log.error({ err }, 'request failed');
      if (err.headers) reply.headers(err.headers);
      return reply.code(err.httpStatus).send(envelope(req, err.code, err.message, err.actions));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'request';
      const problems = err.validation.map((v) => {
        const field = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        return `${where}${field ? `.${field}` : ''}: ${v.message}`;
      });
      return reply.code(400).send(envelope(req, 'VALIDATION_FAILED', problems.join('; ')));
    }
    if ((err as unknown) instanceof ZodError) {
      // A service validated its own input (services are called by jobs and the CLI too).
      const problems = (err as unknown as ZodError).issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
      return reply.code(400).send(envelope(req, 'VALIDATION_FAILED', problems.join('; ')));
    }
    if (clientAbortedBody(err, req)) {
      // The client went away mid-body: nobody waits for this answer and it is no server fault,
      // so it must not become an error line anyone can produce at will.
      req.log.debug({ err }, 'client closed the connection mid-request');
      return reply.code(400).send(envelope(req, 'VALIDATION_FAILED', 'The request ended before its body was complete'));
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return reply.code(err.statusCode ?? 400).send(envelope(req, known.code, known.message));
    if (isResponseSerializationError(err)) {
      // A response that does not match its schema is a server bug; never send the unchecked body.
      req.log.error({ err: { message: err.message, issues: err.cause.issues } }, 'response failed its schema');
    } else {
      req.log.error({ err }, 'unhandled error');
    }
    return reply
      .code(500)
      .send(envelope(req, 'INTERNAL_ERROR', `Something went wrong on our side. Quote request id ${req.id} when reporting it.`));
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(envelope(req, 'NOT_FOUND', `No route for ${req.method} ${req.url.split('?')[0]}`)),
  );
}
