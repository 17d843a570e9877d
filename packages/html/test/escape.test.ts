import t from 'tap'
import { escapeHtml, scriptJson } from '../src/index.ts'

t.test('every character that could open a tag, an entity or end an attribute is escaped', async (t) => {
  t.equal(escapeHtml(`<a href="x" title='y'>Tom & Jerry</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;')
  t.equal(escapeHtml('plain text, ünïcode'), 'plain text, ünïcode', 'other text is left as it is')
})

t.test('JSON in a script cannot close the script or open a comment, and reads back the same', async (t) => {
  const value = { name: '</script><!-- & -->', n: 1 }
  const json = scriptJson(value)
  t.notMatch(json, /[<>&]/)
  t.same(JSON.parse(json), value)
})
