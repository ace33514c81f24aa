export { canonicalJson } from './canonical-json.js'
export type { Cassette, CassetteMode, CassetteOptions } from './cassette.js'
export { createCassette } from './cassette.js'
export { CassetteFileError } from './cassette-file-error.js'
export type {
  CassetteFile,
  CassetteInteraction,
  CassetteRequest,
  CassetteResponse,
  CassetteSseEvent,
} from './cassette-format.js'
export { cassetteFormatVersion } from './cassette-format.js'
export type {
  CassetteDifferenceExcerpt,
  CassetteMissReason,
  CassetteRequestExcerpt,
} from './cassette-miss-error.js'
export { CassetteMissError } from './cassette-miss-error.js'
export { DelegatingLoopbackServer } from './delegating-loopback-server.js'
export { FakeClock } from './fake-clock.js'
export type {
  CutStreamFault,
  Fault,
  FaultKind,
  FaultOptions,
  FaultSchedule,
  MalformedJsonFault,
  OversizedFault,
  ResetAfterHeadersFault,
  ResetBeforeHeadersFault,
  StallHeadersFault,
  StallStreamFault,
  StatusFault,
  WeightedFault,
} from './fault.js'
export { defaultFaultMix, faultKinds } from './fault.js'
export { holdUntilClosed } from './hold-until-closed.js'
export type { JsonDifference } from './json-difference.js'
export type { Latency } from './latency.js'
export type { LoggedRequest, LoopbackRequest, RequestOutcome } from './loopback-request.js'
export type {
  JsonLoopbackResponse,
  LoopbackResponse,
  RawLoopbackResponse,
  RouteContext,
  RouteHandler,
  RouteKey,
  SseLoopbackResponse,
} from './loopback-response.js'
export type {
  ErrorBodyFormatter,
  LoopbackErrorDetails,
  LoopbackServer,
  LoopbackServerOptions,
} from './loopback-server.js'
export { startLoopbackServer } from './loopback-server.js'
export { ReplyScript, type ReplyScriptSource } from './reply-script.js'
export { ScriptedRoute, type ScriptedRouteOptions, type UsedUpReply } from './scripted-route.js'
export {
  readScriptedOptions,
  readServerApiKey,
  type ScriptedApi,
  type ScriptedApiDefinition,
  type ScriptedApiServer,
  ScriptedLoopbackServer,
  type ScriptedServer,
  type ScriptedServerOptions,
  type ScriptSettings,
  startScriptedApiServer,
  startScriptedLoopbackServer,
} from './scripted-server.js'
export { scriptedToolCallsProblem } from './scripted-tool-calls.js'
export { createSeededRandom, type RandomSource } from './seeded-random.js'
export { splitText } from './split-text.js'
export type { ParsedSseEvent, SseEvent, SseItem } from './sse.js'
export { encodeSseItem, isSseEvent, parseSseEvents, sseEvent } from './sse.js'
