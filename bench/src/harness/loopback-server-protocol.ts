/** What a measuring process asks its loopback server process. */
export type ServerRequest =
  | { readonly id: number; readonly type: 'stats' }
  | { readonly id: number; readonly type: 'stall' }
  | { readonly id: number; readonly type: 'close' }

/** What the loopback server process answers (id 0: the unsolicited `ready`). */
export type ServerReply =
  | { readonly id: number; readonly type: 'ready'; readonly baseURL: string }
  | { readonly id: number; readonly type: 'stats'; readonly inFlight: number; readonly received: number }
  | { readonly id: number; readonly type: 'done' }
