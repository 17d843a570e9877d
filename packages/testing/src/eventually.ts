/** Polls `check` until it gives a value (not undefined or false), or fails naming `what` after `timeoutMs`. */
export async function eventually<T> (what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
