import { referenceAdapter } from './__fixtures__/reference-provider.js'
import { describeChatModelConformance } from './chat-model-conformance.js'

// The suite runs against the reference provider, which supports n > 1: both branches of the suite run in this repo
// (Anthropic's tests cover the "unsupported" branch).
describeChatModelConformance(referenceAdapter)
