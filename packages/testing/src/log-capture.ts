import { Writable } from 'node:stream'

/** A stream that keeps every log line a process writes (pass it as a logger's destination), for a test to read back. */
export function logCapture () {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done() } })
  return { stream, lines, text: () => lines.join('\n'), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) }
}
