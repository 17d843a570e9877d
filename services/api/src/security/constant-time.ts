/** The one constant-time comparison lives in @ghl-connect/process-kit (the worker's /metrics uses it too). */
export { sameDigest, sameSecret, secretDigest } from '@ghl-connect/process-kit'
