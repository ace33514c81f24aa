import { ConfigurationError, optionError, safeStringify, unreadableOption } from '@tinyllm/core'
import { registerClientSecrets } from '@tinyllm/llm'
import { REDACTED } from '@tinyllm/logger'
import { Redis, type RedisOptions } from 'ioredis'

/**
 * Where Redis is: a `redis://` URL, ioredis options, or an ioredis client (which is duplicated, never used or closed
 * by tinyllm), without ioredis's `keyPrefix` (BullMQ refuses it; the `prefix` option names tinyllm's keys). Every
 * client tinyllm opens from it waits through a lost connection instead of failing its commands
 * (`maxRetriesPerRequest: null`, `enableOfflineQueue: true` and no `commandTimeout`, whatever the options say): a run
 * blocked on Redis is ended by its deadline or its signal, not by a blip.
 */
export type RedisConnection = string | RedisOptions | Redis

/** The largest database number Redis takes (its `databases` setting is an int), and the longest timer Node holds. */
const maxInt32 = 2_147_483_647

/**
 * Opens a client of its own on `connection`; the caller closes it. A connection that is none of a URL, options (a plain
 * object) or a client — `undefined` or a Cluster included, which ioredis would take for 127.0.0.1:6379 — a URL ioredis
 * cannot read, settings no socket or server takes (see {@link checkedSettings}), and ioredis's `keyPrefix` (which
 * BullMQ refuses) are a ConfigurationError naming `owner` (never the URL, which may hold a password), and leave no
 * client behind.
 */
export function openRedis(connection: RedisConnection, owner: string): Redis {
  let kind: 'client' | 'url' | 'options'
  try {
    kind = connection instanceof Redis ? 'client' : typeof connection === 'string' ? 'url' : 'options'
  } catch (error) {
    // A revoked Proxy throws as soon as it is asked for its prototype.
    throw unreadableOption(error, 'connection', owner)
  }
  if (kind === 'options' && !isPlainObject(connection)) {
    throw optionError('connection', 'a redis:// URL, ioredis options or an ioredis client', connection, owner)
  }
  // BullMQ reads RESP2-shaped replies, and so do tinyllm's scripts.
  const overrides = {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    commandTimeout: undefined,
    lazyConnect: false,
    replyMapping: 'legacy',
  } as const
  let resolved: RedisOptions
  try {
    if (kind === 'client') resolved = (connection as Redis).options
    else {
      // The options as ioredis reads them (a URL's path and query included), from a client that connects to nothing.
      const reader =
        kind === 'url'
          ? new Redis(connection as string, { lazyConnect: true })
          : new Redis({ ...(connection as RedisOptions), lazyConnect: true } as RedisOptions & {
              replyMapping?: 'legacy'
            })
      reader.disconnect()
      resolved = reader.options
    }
  } catch (error) {
    throw new ConfigurationError({
      option: 'connection',
      message: `connection is not a ${kind === 'url' ? 'URL' : kind} ioredis can use (${error instanceof Error ? error.message : 'it threw'})`,
      functionName: owner,
    })
  }
  // From the options read, not from the URL again: ioredis lets what a URL's query says win over options given beside it.
  const client: Redis = new EndingRedis({
    ...resolved,
    ...checkedSettings(resolved, owner),
    ...overrides,
  } as RedisOptions & typeof overrides)
  // A client without an error listener prints every failed reconnection; the commands themselves wait and retry.
  client.on('error', ignore)
  // Its password is a secret for as long as it lives: ioredis's errors keep the command Redis refused (AUTH, HELLO)
  // with its arguments, and a tinyllm error printed with such a cause would show it.
  registerClientSecrets(client, { apiKey: resolved.password })
  return client
}

/**
 * The settings of `options` (as ioredis read them) that ioredis would use as they are, checked, and those it reads
 * as text from a URL's query, as numbers. Refused: a `keyPrefix`; a `db` that is no database number — NaN (`/abc`)
 * is selected again before every command sent while connecting, each failing unhandled, and a negative or fractional
 * one fails on connecting, silently, leaving the client in database 0, another database's journal and queue; a
 * `connectTimeout` that is no whole number of ms up to 2³¹−1 — the socket throws on it as it connects, uncaught, and
 * ioredis keeps the one of a URL's query (`?connectTimeout=5000`) as text, which it throws on too; a `port` that is no
 * port number (`'abc'`, `99999`, `?port=x`) — the socket refuses it at each connection, and every command fails with
 * that, a run's job said to have failed, a limiter's Redis said to have answered with an error.
 */
function checkedSettings(options: RedisOptions, owner: string): Partial<RedisOptions> {
  const { db, keyPrefix } = options
  if (db !== undefined && !(Number.isInteger(db) && db >= 0 && db <= maxInt32)) {
    throw optionError('connection.db', `a database number, a whole number from 0 to ${maxInt32}`, db, owner)
  }
  const given: unknown = options.connectTimeout
  const connectTimeout = typeof given === 'string' && /^\d+$/.test(given) ? Number(given) : given
  if (
    connectTimeout !== undefined &&
    connectTimeout !== null &&
    !(Number.isInteger(connectTimeout) && (connectTimeout as number) >= 0 && (connectTimeout as number) <= maxInt32)
  ) {
    throw optionError('connection.connectTimeout', `a whole number of ms from 0 to ${maxInt32}`, given, owner)
  }
  // ioredis reads it as a number (`'abc'` is NaN); the socket reads it only without a `path` (a Unix socket).
  const port: unknown = options.path ? undefined : options.port
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65_535)) {
    throw optionError('connection.port', 'a port number, a whole number from 1 to 65535', port, owner)
  }
  if (keyPrefix) {
    throw new ConfigurationError({
      option: 'connection',
      message: `connection has the keyPrefix ${safeStringify(keyPrefix, 60)}, which BullMQ refuses; name tinyllm's keys with the prefix option instead`,
      functionName: owner,
    })
  }
  return typeof connectTimeout === 'number' ? { connectTimeout } : {}
}

/**
 * An ioredis client whose `disconnect()` ends it whatever its state. ioredis's own, called while the client waits to
 * reconnect (Redis is away), stops the wait but leaves the client `reconnecting` for ever: the commands waiting for
 * Redis never fail and `end` never comes — and BullMQ's `close` waits for both. Such a client makes one last attempt
 * instead, which ends it (refused), or is closed as soon as it is ready (answered). Its duplicates, the connections
 * BullMQ opens beside it, are of this class too.
 */
class EndingRedis extends Redis {
  /** The clients made with `duplicate()` (BullMQ's blocking connection): cut with this one. */
  private readonly duplicates: EndingRedis[] = []
  /** Cut: it never connects again, whoever asks (BullMQ reconnects its blocking connection while it closes). */
  private cut = false

  constructor(options: RedisOptions & { replyMapping?: 'legacy' }) {
    super(options)
    // The first of its error listeners, before BullMQ's (which hands the error to a worker's `onError`) and any other.
    this.on('error', (error: unknown) => hidePasswords(error, [options.password, options.sentinelPassword]))
  }

  override connect(callback?: () => void): Promise<void> {
    if (this.cut) return Promise.reject(new Error('Connection is closed.'))
    return super.connect(callback)
  }

  /**
   * Cuts its connection at once, as a crash would — its socket destroyed rather than shut politely, which a Redis that
   * does not answer would keep open — and those of its duplicates; none connects again.
   */
  sever(): void {
    for (const duplicate of this.duplicates) duplicate.sever()
    this.disconnect()
    this.stream?.destroy()
    this.cut = true
  }

  override disconnect(reconnect = false): void {
    const stranded = !reconnect && this.status === 'reconnecting'
    super.disconnect(reconnect)
    if (!stranded) return
    this.once('ready', () => super.disconnect())
    this.connect().catch(ignore)
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const duplicate = new EndingRedis({ ...this.options, ...override } as RedisOptions & { replyMapping: 'legacy' })
    this.duplicates.push(duplicate)
    return duplicate
  }
}

/**
 * Hides the passwords in the command an ioredis error keeps (AUTH, HELLO … AUTH: the connection's password, when Redis
 * refuses it — after a restart with another password, say): a listener that prints the error would show them. The
 * command is replaced, not changed, as ioredis may send its arguments again.
 */
function hidePasswords(error: unknown, passwords: ReadonlyArray<string | undefined>): void {
  const command = (error as { command?: { args?: unknown } } | null)?.command
  if (typeof command !== 'object' || command === null || !Array.isArray(command.args)) return
  const args: unknown[] = command.args
  if (!args.some((arg) => typeof arg === 'string' && passwords.includes(arg))) return
  ;(error as { command: unknown }).command = {
    ...command,
    args: args.map((arg) => (typeof arg === 'string' && passwords.includes(arg) ? REDACTED : arg)),
  }
}

/** How long `close()` waits for Redis to answer before it cuts the connection, in ms (a worker's is `closeTimeoutMs`). */
export const closeGraceMs = 2_000

/**
 * Closes a client opened with {@link openRedis}: politely when it is connected, at once otherwise; a Redis that has not
 * answered within `withinMs` (frozen, or cut off without the connection closing) has the connection cut. Resolves once
 * the client has ended, its socket closed and its commands settled.
 */
export async function closeRedis(client: Redis, withinMs = closeGraceMs): Promise<void> {
  if (client.status === 'end') return
  const ended = new Promise((resolve) => client.once('end', resolve))
  // One that loses Redis while it quits (its socket was already dead) would wait to reconnect: it ends instead.
  client.on('reconnecting', () => client.disconnect())
  if (client.status === 'ready') client.quit().catch(ignore)
  else client.disconnect()
  if (!(await settlesWithin(ended, withinMs))) cutRedis(client)
  await ended
}

/**
 * Cuts the connection of a client opened with {@link openRedis}, and of the clients BullMQ duplicated from it, at once
 * and for good, as a crash would: their commands fail, and they end.
 */
export function cutRedis(client: Redis): void {
  ;(client as EndingRedis).sever()
}

/** Whether `promise` settles within `ms`; the timer is cleared either way. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false)
  })
  try {
    return await Promise.race([promise.then(() => true), late])
  } finally {
    clearTimeout(timer)
  }
}

function ignore(): void {}

/**
 * Whether `value` is a plain object, as ioredis options are (from any realm). Any other object — a Cluster, a client of
 * another copy of ioredis — would be read as options naming no host, which ioredis takes for 127.0.0.1:6379: another
 * server than the one meant.
 */
function isPlainObject(value: unknown): boolean {
  try {
    if (typeof value !== 'object' || value === null) return false
    const prototype = Object.getPrototypeOf(value)
    return prototype === null || Object.getPrototypeOf(prototype) === null
  } catch {
    return false
  }
}

/**
 * A name that is part of Redis keys (a prefix, a limiter's name), checked: a non-empty string without a lone
 * surrogate — two names that differ only there would name the same keys, one queue, one journal, one limiter's window.
 */
export function checkKeyName(value: unknown, option: string, owner: string): string {
  if (typeof value === 'string' && value !== '' && value.isWellFormed()) return value
  throw optionError(option, 'a non-empty string without a lone surrogate', value, owner)
}

/** Runs a Lua script defined on `client` with `defineCommand` (EVALSHA, and EVAL again after a server restart). */
export function callScript(client: Redis, name: string, args: ReadonlyArray<string | number>): Promise<unknown> {
  const command = (client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name]
  if (command === undefined) return Promise.reject(new Error(`script ${name} is not defined on this client`))
  return command.apply(client, [...args])
}
