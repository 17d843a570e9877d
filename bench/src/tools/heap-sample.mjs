/**
 * A preload that samples a process's allocations, the garbage included (V8's sampling heap
 * profiler keeps only live objects unless told otherwise), and writes them when the process ends:
 * `<tmpdir>/heap-<pid>.heapprofile`, its path printed to stderr. Where a process's garbage comes
 * from, for heap-summary.ts:
 *   BENCH_PROFILE_SERVICE=worker-throughput BENCH_NODE_ARGS="--import $PWD/bench/src/tools/heap-sample.mjs" pnpm bench --only=worker
 */
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const session = new Session()
session.connect()
session.post('HeapProfiler.enable')
// One sample per 4 KB allocated on average: enough to rank packages, cheap enough to leave the rates readable.
session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })

let written = false
function write () {
  if (written) return
  written = true
  session.post('HeapProfiler.stopSampling', (err, answer) => {
    if (err) return
    const file = join(tmpdir(), `heap-${process.pid}.heapprofile`)
    writeFileSync(file, JSON.stringify(answer.profile))
    process.stderr.write(`heap-sample: ${file}\n`)
  })
}
// Before the process's own SIGTERM handler (which exits once its work is closed).
process.prependListener('SIGTERM', write)
process.on('exit', write)
