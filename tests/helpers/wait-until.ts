// Polls a condition until it holds, or fails naming what it waited for.

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3000, pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
