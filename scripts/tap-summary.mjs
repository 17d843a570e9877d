#!/usr/bin/env node
// Passes TAP through and ends with one line "N passed, M failed", counting the named tests inside
// each file (tap's top-level test points are the files, their subtests are the named tests); skip
// and todo are not counted; a file that dies without a failing test of its own counts as one failure.
// Exits non-zero when anything failed or nothing passed.
import { Parser } from 'tap-parser'

let passed = 0
let failed = 0
let failedInFile = 0
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
run.on('complete', () => {
  process.stdout.write(`${passed} passed, ${failed} failed\n`)
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0
})
process.stdin.on('data', (chunk) => {
  process.stdout.write(chunk)
  run.write(chunk)
})
process.stdin.on('end', () => run.end())
