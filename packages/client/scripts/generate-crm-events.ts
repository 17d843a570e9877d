/** `pnpm --filter @ghl-connect/client generate:crm-events`: rewrites the client's copy of the CRM event contract. */
import { writeFile } from 'node:fs/promises'
import { copyText, COPY_PATH } from './crm-events-contract.ts'

await writeFile(COPY_PATH, await copyText())
process.stdout.write(`wrote ${COPY_PATH}\n`)
