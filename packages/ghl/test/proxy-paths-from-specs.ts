/**
 * What HighLevel's specs say the proxy must add to a request: the `Version` of each path family,
 * and where an operation needs the location id (a required `locationId` / `location_id` query
 * parameter, or a required `locationId` in its JSON body). The proxy's table
 * (src/proxy-paths.ts) is checked against this.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LocationNeed } from '../src/proxy-paths.ts'

const OPENAPI_DIR = join(dirname(fileURLToPath(import.meta.url)), 'openapi')
export const FAMILY_FILES = ['contacts', 'conversations', 'opportunities', 'calendars', 'locations'] as const

type Json = Record<string, any>

export function specsOf (family: string): Json {
  return JSON.parse(readFileSync(join(OPENAPI_DIR, `${family}.json`), 'utf8'))
}

/** Every Version a family's operations accept (an operation without the header accepts any). */
export function versionsOf (family: string): Array<{ method: string, path: string, versions: string[] }> {
  const spec = specsOf(family)
  const out: Array<{ method: string, path: string, versions: string[] }> = []
  for (const [path, ops] of Object.entries(spec.paths as Json)) {
    for (const [method, op] of Object.entries(ops as Json)) {
      const header = (op.parameters ?? []).find((p: Json) => p.in === 'header' && p.name === 'Version')
      if (header) out.push({ method: method.toUpperCase(), path, versions: header.schema?.enum ?? [] })
    }
  }
  return out
}

export function locationNeedsOf (family: string): LocationNeed[] {
  const spec = specsOf(family)
  const deref = (o: Json | undefined): Json | undefined => {
    while (o?.$ref && String(o.$ref).startsWith('#/')) o = String(o.$ref).slice(2).split('/').reduce((a: Json, k) => a?.[k], spec)
    return o
  }
  const needs: LocationNeed[] = []
  for (const [path, ops] of Object.entries(spec.paths as Json)) {
    for (const [method, op] of Object.entries(ops as Json)) {
      const query = (op.parameters ?? []).find((p: Json) => p.in === 'query' && p.required && (p.name === 'locationId' || p.name === 'location_id'))
      const json = deref(op.requestBody?.content?.['application/json']?.schema)
      const body = Array.isArray(json?.required) && json.required.includes('locationId')
      if (query || body) needs.push({ method: method.toUpperCase(), path, ...(query ? { query: query.name } : {}), ...(body ? { body: true } : {}) })
    }
  }
  return needs
}
