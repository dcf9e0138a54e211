/** Waits with an explicit expiry (never a wall-clock assertion): polls `check` until it holds. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
