import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { crmEventTypes } from '../src/index.ts'

const guide = fileURLToPath(new URL('../../../docs/crm-guide.md', import.meta.url))

t.test('every CRM event type is documented with its data in the CRM guide', async (t) => {
  const text = readFileSync(guide, 'utf8')
  const undocumented = crmEventTypes.filter((type) => !text.includes(`| \`${type}\` |`))
  t.same(undocumented, [], `each type has a row "| \`<type>\` | <data> |" in ${guide}`)
})
