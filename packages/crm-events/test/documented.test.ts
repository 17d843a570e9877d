import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { crmEventTypes } from '../src/index.ts'

// The CRM guide; README.md holds it until docs/crm-guide.md exists.
const guide = ['../../../docs/crm-guide.md', '../../../README.md']
  .map((path) => fileURLToPath(new URL(path, import.meta.url))).find((path) => existsSync(path))!

t.test('every CRM event type is documented with its data in the CRM guide', async (t) => {
  const text = readFileSync(guide, 'utf8')
  const undocumented = crmEventTypes.filter((type) => !text.includes(`| \`${type}\` |`))
  t.same(undocumented, [], `each type has a row "| \`<type>\` | <data> |" in ${guide}`)
})
