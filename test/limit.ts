/**
 * For a test file whose processes are independent of each other (own temp
 * dirs, free ports): start them together, at most `limit` at a time, so
 * that one waits while another works, and let each test await its own.
 */
export function limiter(limit: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (active < limit) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await job();
    } finally {
      // The slot passes to the next job waiting, or frees up.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/**
 * `p`, started ahead of the test that awaits it: a rejection before that
 * test runs is not an unhandled one (which would end the process); the
 * test still sees it.
 */
export function ahead<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
