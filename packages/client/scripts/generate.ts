/** `pnpm --filter @ghl-connect/client generate`: rewrites the types from openapi.json (`pnpm openapi` rewrites both, the document first). */
import { writeFile } from 'node:fs/promises'
import { readCommitted, typesText, TYPES_PATH } from './openapi-types.ts'

const { document } = await readCommitted()
await writeFile(TYPES_PATH, await typesText(document))
process.stdout.write(`wrote ${TYPES_PATH}\n`)
