import { ScriptedRoute } from '../scripted-route.js'

/** The body of a request to the echo API. */
export interface EchoRequest {
  readonly text: string
}

/** What an echo reply function receives besides the request. */
export interface EchoContext {
  readonly requestIndex: number
  readonly echoIndex: number
}

/** A scripted echo reply: the text to answer, or an error. */
export type EchoReply = string | { readonly error: { readonly status: number; readonly message: string } }

/** The scripted route of a tiny API that answers with text: what a provider's chat route is, without the wire format. */
export function echoRoute(
  options: { readonly replies?: readonly EchoReply[]; readonly cycleReplies?: boolean } = {},
): ScriptedRoute<EchoRequest, EchoContext, EchoReply> {
  return new ScriptedRoute<EchoRequest, EchoContext, EchoReply>({
    ...options,
    requestName: 'echo request',
    echo: (request) => request.text,
    context: (requestIndex, echoIndex) => ({ requestIndex, echoIndex }),
  })
}
