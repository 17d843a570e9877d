/**
 * Putting values into HTML that api and sandbox pages write by hand. One escaper for both, so a
 * value shows the same way (and is equally safe) on every page this project serves.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text or an attribute value (quoted with either quote). */
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c)

/** JSON inside a <script>: `</script>`, `<!--` and friends cannot break out. */
export const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
