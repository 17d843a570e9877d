/**
 * The sandbox's notion of now. Tests move it instead of sleeping, so token expiry and rate-limit
 * windows are exercised without timed assertions.
 */
export class Clock {
  private offsetMs = 0
  private frozenAt: number | null = null

  now (): number {
    return this.frozenAt ?? Date.now() + this.offsetMs
  }

  advance (ms: number): void {
    if (this.frozenAt !== null) this.frozenAt += ms
    else this.offsetMs += ms
  }

  /** Stops time where it is (a rate-limit window then never slides during a test). */
  freeze (): void {
    this.frozenAt = this.now()
  }

  unfreeze (): void {
    if (this.frozenAt !== null) this.offsetMs = this.frozenAt - Date.now()
    this.frozenAt = null
  }

  reset (): void {
    this.offsetMs = 0
    this.frozenAt = null
  }
}
