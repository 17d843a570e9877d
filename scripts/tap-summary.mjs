#!/usr/bin/env node
// Passes TAP through and ends with one line "N passed, M failed", counting the named tests inside
// each file (tap's top-level test points are the files, their subtests are the named tests); skip
// and todo are not counted; a file that dies without a failing test of its own counts as one failure.
// Several tap runs one after another (the main suite, then the pgbouncer target) are counted
// together: each "TAP version" line starts a run of its own.
// Exits non-zero when anything failed or nothing passed.
import { Parser } from 'tap-parser'

let passed = 0
let failed = 0
let failedInFile = 0

function newRun () {
  const run = new Parser()
  run.on('child', (file) => {
    failedInFile = 0
    file.on('assert', (test) => {
      if (test.skip || test.todo) return
      if (test.ok) passed++
      else { failed++; failedInFile++ }
    })
  })
  run.on('assert', (file) => {
    if (!file.ok && !file.skip && !file.todo && failedInFile === 0) failed++
    failedInFile = 0
  })
  // A test that bails out stops the run: what did not run is not a pass.
  run.on('bailout', () => { if (failed === 0) failed++ })
  return run
}

const ended = []
let run = null
let partial = ''
const feed = (line) => {
  if (line.startsWith('TAP version') || run === null) {
    if (run) { ended.push(new Promise((resolve) => run.once('complete', resolve))); run.end() }
    run = newRun()
  }
  run.write(line + '\n')
}
process.stdin.on('data', (chunk) => {
  process.stdout.write(chunk)
  const lines = (partial + chunk.toString('utf8')).split('\n')
  partial = lines.pop()
  for (const line of lines) feed(line)
})
process.stdin.on('end', async () => {
  if (partial) feed(partial)
  if (run) { ended.push(new Promise((resolve) => run.once('complete', resolve))); run.end() }
  await Promise.all(ended)
  process.stdout.write(`${passed} passed, ${failed} failed\n`)
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0
})
