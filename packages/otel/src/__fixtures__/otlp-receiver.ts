import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A span as it arrived at the receiver, decoded from OTLP/JSON or OTLP/protobuf into one shape. */
export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  /** `''` for a root span. */
  readonly parentSpanId: string
  readonly name: string
  readonly kind: number
  readonly attributes: Record<string, unknown>
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, unknown> }>
  readonly status: { readonly code: number; readonly message: string }
  /** The instrumentation scope that produced it. */
  readonly scope: string
}

/** An OTLP/HTTP trace receiver on 127.0.0.1, on a free port: what a collector does, minus the forwarding. */
export interface OtlpReceiver {
  /** The traces endpoint, `http://127.0.0.1:<port>/v1/traces`. */
  readonly url: string
  readonly spans: ReceivedSpan[]
  /** Content type of every request received. */
  readonly contentTypes: string[]
  close(): Promise<void>
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const contentTypes: string[] = []
  const server = createServer(async (request, response) => {
    const body = await readBody(request)
    const contentType = String(request.headers['content-type'] ?? '')
    contentTypes.push(contentType)
    if (request.method !== 'POST' || request.url !== '/v1/traces') {
      response.writeHead(404).end()
      return
    }
    try {
      if (contentType.startsWith('application/json')) {
        spans.push(...fromJson(JSON.parse(body.toString('utf8'))))
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      } else if (contentType.startsWith('application/x-protobuf')) {
        spans.push(...fromProtobuf(body))
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
      } else {
        response.writeHead(415).end()
      }
    } catch (error) {
      response.writeHead(400).end(String(error))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    contentTypes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

// ---- OTLP/JSON ---------------------------------------------------------------------------------------------------

interface JsonKeyValue {
  key: string
  value: JsonAnyValue
}
interface JsonAnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: string | number
  doubleValue?: number
  arrayValue?: { values?: JsonAnyValue[] }
}

function fromJson(request: {
  resourceSpans?: Array<{
    scopeSpans?: Array<{
      scope?: { name?: string }
      spans?: Array<{
        traceId: string
        spanId: string
        parentSpanId?: string
        name: string
        kind: number
        attributes?: JsonKeyValue[]
        events?: Array<{ name: string; attributes?: JsonKeyValue[] }>
        status?: { code?: number; message?: string }
      }>
    }>
  }>
}): ReceivedSpan[] {
  const spans: ReceivedSpan[] = []
  for (const resourceSpans of request.resourceSpans ?? []) {
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: span.kind - 1, // the protobuf enum, as in the binary encoding
          attributes: jsonAttributes(span.attributes),
          events: (span.events ?? []).map((event) => ({
            name: event.name,
            attributes: jsonAttributes(event.attributes),
          })),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
          scope: scopeSpans.scope?.name ?? '',
        })
      }
    }
  }
  return spans
}

function jsonAttributes(keyValues: JsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((keyValues ?? []).map(({ key, value }) => [key, jsonValue(value)]))
}

function jsonValue(value: JsonAnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(jsonValue)
  return undefined
}

// ---- OTLP/protobuf: the few messages of a trace export, read with a minimal wire-format decoder ------------------

type Field = { readonly wire: number; readonly varint?: bigint; readonly bytes?: Buffer; readonly fixed?: Buffer }

/** A message's fields by number, each in the order it appeared. */
function decodeMessage(buffer: Buffer): Map<number, Field[]> {
  const fields = new Map<number, Field[]>()
  let offset = 0
  const readVarint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      const byte = buffer[offset++]!
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result
      shift += 7n
    }
  }
  while (offset < buffer.length) {
    const tag = Number(readVarint())
    const number = tag >>> 3
    const wire = tag & 7
    const take = (length: number): Buffer => {
      const bytes = buffer.subarray(offset, offset + length)
      offset += length
      return bytes
    }
    let field: Field
    if (wire === 0) field = { wire, varint: readVarint() }
    else if (wire === 1) field = { wire, fixed: take(8) }
    else if (wire === 5) field = { wire, fixed: take(4) }
    else if (wire === 2) field = { wire, bytes: take(Number(readVarint())) }
    else throw new Error(`unsupported wire type ${wire}`)
    const list = fields.get(number)
    if (list === undefined) fields.set(number, [field])
    else list.push(field)
  }
  return fields
}

const messages = (fields: Map<number, Field[]>, number: number): Array<Map<number, Field[]>> =>
  (fields.get(number) ?? []).map((field) => decodeMessage(field.bytes!))
const text = (fields: Map<number, Field[]>, number: number): string =>
  fields.get(number)?.[0]?.bytes?.toString('utf8') ?? ''
const hex = (fields: Map<number, Field[]>, number: number): string =>
  fields.get(number)?.[0]?.bytes?.toString('hex') ?? ''
const varint = (fields: Map<number, Field[]>, number: number): number => Number(fields.get(number)?.[0]?.varint ?? 0n)

function fromProtobuf(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = []
  for (const resourceSpans of messages(decodeMessage(body), 1)) {
    for (const scopeSpans of messages(resourceSpans, 2)) {
      const scope = messages(scopeSpans, 1)[0]
      for (const span of messages(scopeSpans, 2)) {
        const status = messages(span, 15)[0]
        spans.push({
          traceId: hex(span, 1),
          spanId: hex(span, 2),
          parentSpanId: hex(span, 4),
          name: text(span, 5),
          // The protobuf enum counts from SPAN_KIND_UNSPECIFIED; the API's SpanKind from INTERNAL.
          kind: varint(span, 6) - 1,
          attributes: protobufAttributes(messages(span, 9)),
          events: messages(span, 11).map((event) => ({
            name: text(event, 2),
            attributes: protobufAttributes(messages(event, 3)),
          })),
          status: {
            code: status === undefined ? 0 : varint(status, 3),
            message: status === undefined ? '' : text(status, 2),
          },
          scope: scope === undefined ? '' : text(scope, 1),
        })
      }
    }
  }
  return spans
}

function protobufAttributes(keyValues: Array<Map<number, Field[]>>): Record<string, unknown> {
  return Object.fromEntries(
    keyValues.map((keyValue) => [text(keyValue, 1), protobufValue(messages(keyValue, 2)[0] ?? new Map())]),
  )
}

function protobufValue(value: Map<number, Field[]>): unknown {
  if (value.has(1)) return text(value, 1)
  if (value.has(2)) return varint(value, 2) === 1
  if (value.has(3)) return Number(BigInt.asIntN(64, value.get(3)![0]!.varint!))
  if (value.has(4)) return value.get(4)![0]!.fixed!.readDoubleLE(0)
  if (value.has(5)) return messages(messages(value, 5)[0]!, 1).map(protobufValue)
  return undefined
}
