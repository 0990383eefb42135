import { STATUS_CODES } from 'node:http';
import { TaskioError } from '../errors.js';

/** HTTP status per error code; anything not listed is the daemon's or the runtime's failure (500). */
const statusOf: Record<string, number> = {
  ERR_UNKNOWN_ROUTE: 404, ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_REQUEST_TIMEOUT: 408,
  ERR_LENGTH_REQUIRED: 411,
  ERR_BODY_TOO_LARGE: 413,
  ERR_INVALID_STATE: 409, ERR_ALREADY_EXISTS: 409, EBUSY: 409, ERR_NO_LOG: 409, ERR_NOT_ATTACHABLE: 409,
  ERR_BAD_JSON: 400, ERR_API_VERSION: 400, ERR_INVALID_BODY: 400, ERR_CONNECTION_CLOSED: 400, ERR_UNKNOWN_FIELD: 400, ERR_INVALID_FIELD: 400, ERR_INVALID_ID: 400,
  ERR_INVALID_SIGNAL: 400, ERR_INVALID_LIMIT: 400, ERR_OUT_OF_RANGE: 400, ERR_INVALID_ARG_VALUE: 400,
  ERR_INVALID_LOG_OPTION: 400, ERR_INVALID_LOG_URI: 400, ERR_INVALID_LOG_PATH: 400, ERR_UNKNOWN_STDIO_SCHEME: 400,
  ERR_NOT_FIFO: 400, ERR_INVALID_BUNDLE: 400, ERR_INVALID_ROOTFS: 400, ERR_INVALID_DETACH_KEYS: 400,
  ERR_COMMAND_NOT_FOUND: 400, ERR_COMMAND_NOT_EXECUTABLE: 400, ERR_RUNTIME_UNAVAILABLE: 400, ERR_NOT_SUPPORTED: 400,
  ERR_UPGRADE_REQUIRED: 400, ERR_INVALID_MOUNT: 400, ERR_INVALID_USER: 400, ERR_INVALID_CWD: 400,
};

/** The body of every error response: `{"code": "...", "message": "..."}`. */
export interface ErrorBody {
  code: string;
  message: string;
}

/** The status and body an error is answered with. */
export function httpError(err: unknown): { status: number; body: ErrorBody } {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'ERR_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  return { status: statusOf[code] ?? 500, body: { code, message } };
}

/** A 404 for a path no route has. */
export function unknownRoute(method: string, path: string): TaskioError {
  return new TaskioError('ERR_UNKNOWN_ROUTE', `no route for ${method} ${path}`);
}

/**
 * An error answer written straight onto a connection, for where no `ServerResponse` exists: an
 * upgrade request, a request Node's parser could not read, a CONNECT. The connection closes after it.
 */
export function rawErrorResponse(status: number, body: ErrorBody): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}

/**
 * The answer to a request Node's HTTP parser refused (`'clientError'`): 431 for headers too large,
 * 408 for one not received in time, else 400, with the parser's code (`HPE_INVALID_METHOD`, …).
 */
export function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const code = err.code ?? 'ERR_BAD_REQUEST';
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  return rawErrorResponse(status, { code, message: `the request could not be read: ${err.message}` });
}
