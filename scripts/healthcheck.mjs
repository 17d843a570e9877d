#!/usr/bin/env node
// The images' HEALTHCHECK (no curl in a slim image): exits 0 when GET http://127.0.0.1:<port><path>
// answers 2xx within 3 seconds, 1 otherwise. The port is read from the process's variable.
// Use: node healthcheck.mjs <port variable> <its default> <path>   e.g. PORT 3000 /readyz
const [variable, fallback, path] = process.argv.slice(2)
const port = process.env[variable]?.trim() || fallback
fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) })
  .then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))
