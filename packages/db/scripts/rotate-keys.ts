import { loadOrExit, loadRotateKeysConfig } from '@ghl-connect/config'
import { createDatabase } from '../src/database.ts'
import { IntegrationKeyRotation } from '../src/repositories/integrations/key-rotation.ts'
import { TokenCipher } from '../src/token-cipher.ts'

const config = loadOrExit(loadRotateKeysConfig)
const cipher = new TokenCipher(config.encryption.keys)
const handle = createDatabase({ ...config.database, poolSize: 2 })
try {
  const result = await new IntegrationKeyRotation(handle.db, cipher).rotateKeys()
  console.log(`re-encrypted under "${cipher.primaryKeyId}": ${result.rotated} rows; already under it: ${result.alreadyPrimary}; ` +
    `changed meanwhile (run again): ${result.changedMeanwhile}`)
  if (result.changedMeanwhile > 0) process.exitCode = 2
} catch (err) {
  console.error(`key rotation failed: ${(err as Error).message}`)
  process.exitCode = 1
} finally {
  await handle.close()
}
