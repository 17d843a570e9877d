/** What the operator reads: aligned plain-text tables, short relative times, or JSON for scripts. */

export interface Io {
  stdout: { write: (text: string) => unknown }
  stderr: { write: (text: string) => unknown }
}

/** Columns padded to their widest cell; an empty table says so instead of printing a bare header. */
export function table (headers: string[], rows: string[][], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

/** "key: value" lines, keys aligned. */
export function fields (pairs: Array<[string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join('\n') + '\n'
}

/** 42 minutes -> "42m", 30 hours -> "1d 6h". */
export function span (ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`
  const d = Math.floor(h / 24)
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`
}

/** Until a moment: "in 42m", or "expired 3m ago". */
export const until = (at: Date, now = Date.now()) => (at.getTime() >= now ? `in ${span(at.getTime() - now)}` : `expired ${span(now - at.getTime())} ago`)
/** Since a moment: "3h ago", or "never". */
export const ago = (at: Date | null, now = Date.now()) => (at ? `${span(now - at.getTime())} ago` : 'never')

/** JSON escapes C0 controls itself; DEL and C1 (a terminal may act on U+009B) are escaped here, so the value survives terminalText. */
export const json = (value: unknown) =>
  `${JSON.stringify(value, null, 2).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`

/**
 * Text for a terminal. Location names and error messages come from HighLevel (or whoever installed
 * the app): an escape sequence in one could recolour, rewrite or hide lines of the operator's
 * terminal, or set its title. Escape sequences (CSI, OSC) go whole, then every other C0/C1 control
 * character but newline and tab. JSON output keeps its values: `json` escapes every control character.
 */
export function terminalText (text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '')
}

/** `io` whose every write is terminal text: what commands print cannot carry control characters. */
export const terminalIo = (io: Io): Io => ({
  stdout: { write: (text: string) => io.stdout.write(terminalText(text)) },
  stderr: { write: (text: string) => io.stderr.write(terminalText(text)) },
})
