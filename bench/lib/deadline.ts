// Every step of a bench has a deadline: a step that does not finish in time fails with a
// message naming it, instead of hanging the run (and its clean-up) forever.

export class StepTimeout extends Error {
  constructor(
    readonly step: string,
    readonly ms: number,
  ) {
    super(`${step} did not finish within ${ms / 1000} s`);
  }
}

/** `work`'s result, or StepTimeout once `ms` passed (the work itself is left to end on its own). */
export async function within<T>(step: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StepTimeout(step, ms)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
