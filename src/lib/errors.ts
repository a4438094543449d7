// Domain errors thrown by services; src/http/errors.ts maps them to statuses in one place.

export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class BadRequest extends DomainError {
  constructor(message: string, code = "bad_request") {
    super(code, message, 400);
  }
}
export class Unauthorized extends DomainError {
  constructor(message = "Authentication required: send Authorization: Bearer <api key> or log in.") {
    super("unauthorized", message, 401);
  }
}
export class Forbidden extends DomainError {
  constructor(message = "Your role does not allow this action.") {
    super("forbidden", message, 403);
  }
}
export class NotFound extends DomainError {
  constructor(what: string) {
    super("not_found", `${what} was not found.`, 404);
  }
}
export class Conflict extends DomainError {
  constructor(message: string, code = "conflict") {
    super(code, message, 409);
  }
}
export class TooManyRequests extends DomainError {
  constructor(message: string, retryAfterSec: number, code = "rate_limited") {
    super(code, message, 429, { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSec))) });
  }
}
export class CapacityExhausted extends DomainError {
  constructor(message: string, retryAfterSec: number) {
    super("capacity_exhausted", message, 429, { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSec))) });
  }
}
export class Unavailable extends DomainError {
  constructor(message: string, code = "unavailable") {
    super(code, message, 503);
  }
}
export class Gone extends DomainError {
  constructor(message: string, code = "gone") {
    super(code, message, 410);
  }
}
/**
 * A Docker engine call that passed its deadline (src/providers/engine-deadlines.ts): the engine
 * of `worker` is stuck or overloaded. The request that needed the call fails with this; the
 * worker is checked at once and skipped while its engine does not answer.
 */
export class EngineTimeout extends DomainError {
  constructor(
    readonly worker: string,
    readonly call: string,
    readonly timeoutMs: number,
  ) {
    super("engine_timeout", `The Docker engine of worker "${worker}" did not answer ${call} within ${timeoutMs / 1000} s; try again later (the worker is skipped while its engine does not answer).`, 503);
  }
}
