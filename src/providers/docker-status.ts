// The HTTP status of a failed Docker Engine API call, as dockerode reports it (404: no such
// object, 409: conflict), or undefined for errors that never reached the engine.
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}
