import t from 'tap'
import { terminalText } from '../src/output.ts'
import { createWorld } from './helper.ts'

const hostileName = 'Sunrise\x1b[2J\x1b[31m Dental\x1b]0;pwned\x07\r\x9b6n\x07'
const hostileError = 'refused\x1b[1A\x1b[2K: all good\x08\x08'

t.test('what HighLevel supplied (a location name, an error) reaches the terminal without control characters', async (t) => {
  const w = await createWorld(t)
  const c = await w.connect('hostile-client', { locationName: hostileName })
  await w.integrations.recordRefreshFailure(c.id, c.tokenVersion, { error: hostileError, status: 'needs_reauth' })
  for (const argv of [['clients', 'list'], ['clients', 'show', 'hostile-client']]) {
    const run = await w.ghl(argv)
    t.equal(run.code, 0, argv.join(' '))
    t.notMatch(run.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, `${argv.join(' ')}: no control character`)
    t.match(run.stdout, 'Sunrise Dental', 'the visible text stays')
    t.match(run.stdout, 'refused: all good')
  }
  const json = await w.ghl(['clients', 'show', 'hostile-client', '--json'])
  t.equal(JSON.parse(json.stdout).locationName, hostileName, 'JSON keeps the exact value, escaped by JSON itself')
})

t.test('terminal text keeps newlines and tabs, drops escape sequences whole and every other C0/C1 control', async (t) => {
  t.equal(terminalText('a\tb\nc'), 'a\tb\nc')
  t.equal(terminalText('\x1b[38;5;196mred\x1b[0m'), 'red')
  t.equal(terminalText('\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\'), 'link')
  t.equal(terminalText('over\rwrite\x7f\x85'), 'overwrite')
})
