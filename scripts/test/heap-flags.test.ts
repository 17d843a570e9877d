/** The api and the worker start with the same heap flags wherever they are started, and the bench measures them with those. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { HEAP_FLAGS } from '../../bench/src/harness/processes.ts'
import { ROOT } from './helpers.ts'

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

t.test('start.sh, docker-compose.yml and the Dockerfile give api and worker the bench\'s heap flags', async (t) => {
  for (const [service, entry] of [['api', 'dist/server.js'], ['worker', 'dist/main.js']] as const) {
    const flags = HEAP_FLAGS[service].split(' ')
    const quoted = flags.map((f) => `"${f}"`).join(', ')
    t.ok(read('scripts/start.sh').includes(`exec node ${flags.join(' ')} ${entry})`), `start.sh: the ${service}`)
    t.ok(read('docker-compose.yml').includes(`["node", ${quoted}, "--env-file=/secrets/.env", "${entry}"]`), `compose: the ${service}`)
    t.ok(read('Dockerfile').includes(`CMD ["node", ${quoted}, "${entry}"]`), `image: the ${service}`)
  }
})
