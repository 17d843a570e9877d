/**
 * The code blocks of a Markdown page marked to run as pasted: a fence whose info string is the
 * language then `runnable` (```sh runnable, ```ts runnable; GitHub highlights by the first word).
 * A fence inside a list item is indented: its lines lose that indentation.
 */
export interface RunnableBlock { lang: 'sh' | 'ts', code: string, line: number }

export function runnableBlocks (markdown: string): RunnableBlock[] {
  const blocks: RunnableBlock[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(sh|ts) runnable\s*$/.exec(lines[i]!)
    if (!open) continue
    const indent = open[1]!.length
    const code: string[] = []
    let j = i + 1
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) code.push(lines[j]!.slice(Math.min(indent, /^\s*/.exec(lines[j]!)![0].length)))
    blocks.push({ lang: open[2] as 'sh' | 'ts', code: `${code.join('\n')}\n`, line: i + 1 })
    i = j
  }
  return blocks
}
