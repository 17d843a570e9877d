/**
 * The shape of the house: packages are the ground the services stand on, so no package's source
 * imports a service (a test starter belongs to the package it starts), and no source files import
 * each other in a circle. Tests are not sources: a package's tests may start a service.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { arrowsBackUp, importCircles, importedNames, readImportGraph, type ImportEdge } from './import-graph.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

const line = (e: ImportEdge) => `${e.from} -> ${e.to} ('${e.specifier}')`

t.test('the reader finds every kind of import and nothing in comments, strings or regular expressions', async (t) => {
  const source = [
    '/** import { no } from \'./in-a-comment.ts\' */',
    'import a, { b } from \'./static.ts\'',
    'import type {',
    '  C,',
    '} from "./type-only.ts"',
    'import \'./side-effect.ts\'',
    'export * from \'./re-export.ts\'',
    'export { d } from \'@scope/pkg/sub\'',
    '// import x from \'./line-comment.ts\'',
    'const s = "import y from \'./in-a-string.ts\'"',
    'const r = /from \'.\\/in-a-regex.ts\'/',
    'const tpl = `from \'./in-a-template.ts\' ${await import(\'./in-template-code.ts\')} import z from \'./after.ts\'`',
    'const half = a / 2; const other = b / 3',
    'const lazy = await import(\'./dynamic.ts\')',
    'type T = import(\'./type-position.ts\').T',
    'Array.from(\'abc\')',
  ].join('\n')
  t.same(importedNames(source), [
    './static.ts', './type-only.ts', './side-effect.ts', './re-export.ts', '@scope/pkg/sub',
    './in-template-code.ts', './dynamic.ts', './type-position.ts',
  ])
})

t.test('every import of the workspace\'s sources resolves to a file', async (t) => {
  const graph = readImportGraph(ROOT)
  t.ok(graph.files.length > 100, `read ${graph.files.length} source files`)
  t.same(graph.unresolved.map(line), [], 'imports that resolve to no file')
})

t.test('no package imports a service (tests excluded): a starter or script that needs a service lives with it', async (t) => {
  const back = arrowsBackUp(readImportGraph(ROOT)).map(line)
  t.same(back, [], `imports from packages/ into services/:\n${back.join('\n')}`)
})

t.test('no source files import each other in a circle (tests excluded)', async (t) => {
  const circles = importCircles(readImportGraph(ROOT))
    .map((c) => `${c.files.join(' <-> ')}\n  ${c.edges.map(line).join('\n  ')}`)
  t.same(circles, [], `import circles:\n${circles.join('\n')}`)
})
