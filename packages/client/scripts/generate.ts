/**
 * `pnpm --filter @ghl-connect/client generate`: rewrites what this package generates: the types from
 * openapi.json (`pnpm openapi` rewrites the document first) and its copy of the CRM event contract.
 */
import { writeFile } from 'node:fs/promises'
import { copyText, COPY_PATH } from './crm-events-contract.ts'
import { readCommitted, typesText, TYPES_PATH } from './openapi-types.ts'

const { document } = await readCommitted()
await writeFile(TYPES_PATH, await typesText(document))
await writeFile(COPY_PATH, await copyText())
process.stdout.write(`wrote ${TYPES_PATH} and ${COPY_PATH}\n`)
