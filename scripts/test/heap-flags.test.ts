/** The api and the worker start with the same heap flags wherever they are started, and the bench measures them with those. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { HEAP_FLAGS } from '../../bench/src/harness/processes.ts'
import { ROOT } from './helpers.ts'

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const flags = HEAP_FLAGS.split(' ')

t.test('start.sh, docker-compose.yml and the Dockerfile give api and worker the bench\'s heap flags', async (t) => {
  t.match(read('scripts/start.sh'), `heap=(${flags.join(' ')})`)
  t.match(read('scripts/start.sh'), /exec node "\$\{heap\[@\]\}" dist\/server\.js/)
  t.match(read('scripts/start.sh'), /exec node "\$\{heap\[@\]\}" dist\/main\.js/)
  const quoted = flags.map((f) => `"${f}"`).join(', ')
  const compose = read('docker-compose.yml')
  t.ok(compose.includes(`["node", ${quoted}, "--env-file=/secrets/.env", "dist/server.js"]`), 'compose: the api')
  t.ok(compose.includes(`["node", ${quoted}, "--env-file=/secrets/.env", "dist/main.js"]`), 'compose: the worker')
  const image = read('Dockerfile')
  t.ok(image.includes(`CMD ["node", ${quoted}, "dist/server.js"]`), 'image: the api')
  t.ok(image.includes(`CMD ["node", ${quoted}, "dist/main.js"]`), 'image: the worker')
})
