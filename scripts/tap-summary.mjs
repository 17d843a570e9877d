#!/usr/bin/env node
// Passes TAP through and ends with one line "N passed, M failed", counting the named tests inside
// each file; a file that dies without a failing test of its own counts as one failure.
import { createInterface } from 'node:readline'

let passed = 0
let failed = 0
let failedInFile = 0
const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  process.stdout.write(`${line}\n`)
  const inner = /^ {4}(not )?ok \d+ - /.exec(line)
  if (inner) {
    if (/# SKIP|# TODO/.test(line)) return
    if (inner[1]) { failed++; failedInFile++ } else passed++
    return
  }
  const file = /^(not )?ok \d+ - /.exec(line)
  if (file) {
    if (file[1] && failedInFile === 0) failed++
    failedInFile = 0
  }
})
rl.on('close', () => {
  process.stdout.write(`${passed} passed, ${failed} failed\n`)
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0
})
