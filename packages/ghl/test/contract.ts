/**
 * Checks recorded HTTP exchanges against HighLevel's own OpenAPI specs (copied in ./openapi):
 * the request against its operation (method, path, Version and other parameters, content type,
 * body schema, bearer auth) and the answer against the documented response schema.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Ajv, { type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { StartedSandbox } from 'ghl-sandbox/testing'

/** What the sandbox records per request (secrets masked). */
export type Exchange = StartedSandbox['control']['recorded'][number]

const SPEC_FILES = ['oauth.json', 'contacts.json', 'conversations.json', 'locations.json', 'marketplace.json', 'opportunities.json', 'calendars.json']
const BASE = 'https://ghl-openapi.invalid/apps/'
const COMMON = 'https://ghl-openapi.invalid/common/common-schemas.json'
const OPENAPI_DIR = join(dirname(fileURLToPath(import.meta.url)), 'openapi')

/**
 * Where a spec contradicts what HighLevel documents elsewhere, and following the spec would make
 * the client send what HighLevel does not expect. Each is named, with why.
 */
export const ERRATA: Array<{ file: string, schema: string, dropRequired: string[], why: string }> = [
  {
    file: 'conversations.json',
    schema: 'SendMessageBodyDto',
    dropRequired: ['subType', 'status'],
    why: 'send-a-new-message marks subType and status required, but both describe a stored message; HighLevel\'s guides and its SDK send {type, contactId, message}.',
  },
]

/**
 * Where a response schema's type contradicts the spec's own example and HighLevel's documented
 * answers: the property is checked against `as` instead.
 */
export const RESPONSE_ERRATA: Array<{ file: string, schema: string, properties: string[], as: Json, why: string }> = [
  {
    file: 'calendars.json',
    schema: 'CalendarEventDTO',
    properties: ['startTime', 'endTime', 'dateAdded', 'dateUpdated'],
    as: { type: 'string' },
    why: 'typed "object" while the spec\'s own examples are ISO 8601 strings ("2023-09-25T16:00:00+05:30")',
  },
  {
    file: 'opportunities.json',
    schema: 'PipelinesResponseSchema',
    properties: ['stages'],
    as: { type: 'array', items: { type: 'object' } },
    why: 'typed an array of arrays; a stage is an object with an id (what search-opportunity\'s pipeline_stage_id filters by) and a name',
  },
]

type Json = Record<string, unknown>
interface Parameter { name: string, in: string, required?: boolean, schema?: Json }
interface Operation {
  file: string
  method: string
  template: string
  pattern: RegExp
  pathParams: string[]
  op: Json & { parameters?: Parameter[], requestBody?: { required?: boolean, content?: Record<string, { schema?: Json }> }, responses?: Record<string, { content?: Record<string, { schema?: Json }> }>, security?: Array<Record<string, string[]>> }
}

const mediaType = (value: string | undefined) => (value ?? '').split(';')[0]?.trim().toLowerCase() ?? ''

export class ContractChecker {
  private readonly ajv: Ajv
  private readonly operations: Operation[] = []
  private readonly validators = new Map<string, ValidateFunction>()

  constructor (dir = OPENAPI_DIR) {
    // OpenAPI 3.0 schemas carry `example`, `nullable` and friends: not strict JSON Schema.
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, coerceTypes: false })
    addFormats(this.ajv)
    this.ajv.addSchema(JSON.parse(readFileSync(join(dir, 'common-schemas.json'), 'utf8')), COMMON)
    for (const file of SPEC_FILES) {
      const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json & { paths: Record<string, Record<string, Json>>, components?: { schemas?: Record<string, Json> } }
      for (const e of ERRATA.filter((x) => x.file === file)) {
        const schema = doc.components?.schemas?.[e.schema] as { required?: string[] } | undefined
        if (!schema?.required) throw new Error(`erratum for ${file} ${e.schema} no longer applies: review ERRATA`)
        schema.required = schema.required.filter((r) => !e.dropRequired.includes(r))
      }
      for (const e of RESPONSE_ERRATA.filter((x) => x.file === file)) {
        const properties = (doc.components?.schemas?.[e.schema] as { properties?: Record<string, Json> } | undefined)?.properties
        for (const name of e.properties) {
          if (!properties?.[name]) throw new Error(`response erratum for ${file} ${e.schema}.${name} no longer applies: review RESPONSE_ERRATA`)
          properties[name] = { ...e.as, description: properties[name].description }
        }
      }
      this.ajv.addSchema(doc, BASE + file)
      for (const [template, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue
          const normalized = template.replace(/\/+$/, '') || '/'
          const pathParams = [...normalized.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '')
          const pattern = new RegExp(`^${normalized.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '([^/]+)')}$`)
          this.operations.push({ file, method: method.toUpperCase(), template, pattern, pathParams, op: op as Operation['op'] })
        }
      }
    }
    // A literal segment beats a parameter (/contacts/search before /contacts/{contactId}).
    this.operations.sort((a, b) => a.pathParams.length - b.pathParams.length)
  }

  /** Every way the exchange departs from the spec; empty when it conforms. */
  check (exchange: Exchange): string[] {
    const found = this.find(exchange)
    if (!found) return [`${exchange.method} ${exchange.url.split('?')[0]}: no documented operation`]
    return [...this.checkRequest(exchange, found), ...this.checkResponse(exchange, found)]
  }

  /** The operationId the exchange was matched to, for test names. */
  operationOf (exchange: Exchange): string | undefined {
    return this.find(exchange)?.operation.op.operationId as string | undefined
  }

  private find (exchange: Exchange): { operation: Operation, pathValues: Record<string, string> } | undefined {
    const path = decodeURI(exchange.url.split('?')[0] ?? '').replace(/\/+$/, '') || '/'
    for (const operation of this.operations) {
      if (operation.method !== exchange.method.toUpperCase()) continue
      const m = operation.pattern.exec(path)
      if (m) return { operation, pathValues: Object.fromEntries(operation.pathParams.map((p, i) => [p, decodeURIComponent(m[i + 1] ?? '')])) }
    }
    return undefined
  }

  private checkRequest (exchange: Exchange, { operation, pathValues }: { operation: Operation, pathValues: Record<string, string> }): string[] {
    const problems: string[] = []
    const id = `${operation.op.operationId as string} request`
    const query = new URLSearchParams(exchange.url.split('?')[1] ?? '')
    const headers = Object.fromEntries(Object.entries(exchange.headers).map(([k, v]) => [k.toLowerCase(), v]))

    for (const param of operation.op.parameters ?? []) {
      const value = param.in === 'header' ? headers[param.name.toLowerCase()]
        : param.in === 'query' ? query.get(param.name) ?? undefined
          : param.in === 'path' ? pathValues[param.name] : undefined
      if (value === undefined) {
        if (param.required) problems.push(`${id}: ${param.in} parameter ${param.name} is required and missing`)
        continue
      }
      if (param.schema) problems.push(...this.validate(param.schema, coerce(value, param.schema), `${id}: ${param.in} parameter ${param.name}`))
    }

    const needsBearer = (operation.op.security ?? []).some((s) => Object.keys(s).length > 0)
    if (needsBearer && !/^Bearer\s+\S+/i.test(headers.authorization ?? '')) problems.push(`${id}: Authorization: Bearer <token> is required`)

    const requestBody = operation.op.requestBody
    if (requestBody) {
      const type = mediaType(headers['content-type'])
      const accepted = Object.keys(requestBody.content ?? {})
      if (exchange.body === undefined) {
        if (requestBody.required) problems.push(`${id}: a body is required`)
      } else if (!accepted.includes(type)) {
        problems.push(`${id}: content type "${type}" is not accepted (accepted: ${accepted.join(', ')})`)
      } else {
        const schema = requestBody.content?.[type]?.schema
        if (schema) problems.push(...this.validate(schema, exchange.body, `${id}: body`, operation.file))
      }
    }
    return problems
  }

  private checkResponse (exchange: Exchange, { operation }: { operation: Operation }): string[] {
    const id = `${operation.op.operationId as string} response ${exchange.response.status}`
    const responses = operation.op.responses ?? {}
    const status = String(exchange.response.status)
    const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default
    if (!documented) {
      const successes = Object.keys(responses).filter((s) => s.startsWith('2'))
      // Error statuses the spec leaves out (403, 429, 5xx) have no schema to hold the answer to.
      return status.startsWith('2') && successes.length > 0 ? [`${id}: status is not documented (documented: ${successes.join(', ')})`] : []
    }
    const json = documented.content?.['application/json']
    if (!json?.schema) return []
    if (mediaType(exchange.response.headers['content-type']) !== 'application/json') {
      return [`${id}: content type "${exchange.response.headers['content-type'] ?? ''}" is not application/json`]
    }
    return this.validate(json.schema, exchange.response.body, `${id}: body`, operation.file)
  }

  private validate (schema: Json, value: unknown, where: string, file?: string): string[] {
    const validator = this.validator(schema, file)
    if (validator(value)) return []
    return (validator.errors ?? []).map((e) => `${where}${e.instancePath ? ` ${e.instancePath}` : ''} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`)
  }

  private validator (schema: Json, file?: string): ValidateFunction {
    const ref = typeof schema.$ref === 'string' ? schema.$ref : undefined
    const key = ref && file ? `${file}|${ref}` : JSON.stringify(schema)
    let validator = this.validators.get(key)
    if (!validator) {
      // Relative refs (#/components/..., ../common/...) resolve against the spec file they appear in.
      // ../common/common-schemas.json lands on COMMON, where the reconstructed error schemas live.
      const target = ref && file ? { $ref: new URL(ref, BASE + file).toString() } : schema
      validator = this.ajv.compile(target)
      this.validators.set(key, validator)
    }
    return validator
  }
}

/** Parameters travel as strings; a schema asking for a number or boolean is checked on the converted value. */
function coerce (value: string, schema: Json): unknown {
  if (schema.type === 'number' || schema.type === 'integer') return Number(value)
  if (schema.type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value
  return value
}
