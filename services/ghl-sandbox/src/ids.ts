import { randomBytes } from 'node:crypto'

/** HighLevel ids are 20 letters and digits. */
export const ghlId = (): string => randomBytes(15).toString('base64').replace(/[^A-Za-z0-9]/g, '').padEnd(20, '0').slice(0, 20)
