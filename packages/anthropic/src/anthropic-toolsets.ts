import type { BrowserToolsetConfigs, ComputerToolsetConfigs } from '@anthropic-ai/sdk/resources/messages'

/**
 * The members of each toolset Anthropic's Messages API takes, by the toolset's `type`: a toolset is one `tools` entry
 * without a `name`, and the model calls its members by their own names (`left_click`, `navigate`…), the keys of the
 * SDK's `ComputerToolsetConfigs` and `BrowserToolsetConfigs` (the type check fails when the SDK adds or drops one).
 */
const toolsetMembers: ReadonlyMap<string, readonly string[]> = new Map([
  [
    'computer_toolset_20260801',
    Object.keys({
      cursor_position: 0,
      double_click: 0,
      hold_key: 0,
      key: 0,
      left_click: 0,
      left_click_drag: 0,
      left_mouse_down: 0,
      left_mouse_up: 0,
      middle_click: 0,
      mouse_move: 0,
      right_click: 0,
      screenshot: 0,
      scroll: 0,
      triple_click: 0,
      type: 0,
      wait: 0,
      zoom: 0,
    } satisfies Record<keyof ComputerToolsetConfigs, 0>),
  ],
  [
    'browser_toolset_20260801',
    Object.keys({
      close_tab: 0,
      double_click: 0,
      file_upload: 0,
      find: 0,
      form_input: 0,
      get_page_text: 0,
      hold_key: 0,
      hover: 0,
      javascript_exec: 0,
      key: 0,
      left_click: 0,
      left_click_drag: 0,
      left_mouse_down: 0,
      left_mouse_up: 0,
      list_tabs: 0,
      middle_click: 0,
      mouse_move: 0,
      navigate: 0,
      new_tab: 0,
      read_console: 0,
      read_network: 0,
      read_page: 0,
      right_click: 0,
      screenshot: 0,
      scroll: 0,
      scroll_to: 0,
      switch_tab: 0,
      triple_click: 0,
      type: 0,
      wait: 0,
      zoom: 0,
    } satisfies Record<keyof BrowserToolsetConfigs, 0>),
  ],
])

/**
 * The names the model may call a toolset `tool` by: its members, but those its `configs` turn off
 * (`{ enabled: false }`), which the API withholds from the model. A tool that is no toolset has none.
 */
export function toolsetMemberNames(tool: unknown): readonly string[] {
  const { type, configs } = (tool ?? {}) as { type?: unknown; configs?: unknown }
  const members = typeof type === 'string' ? toolsetMembers.get(type) : undefined
  if (members === undefined) return []
  if (typeof configs !== 'object' || configs === null) return members
  const overrides = configs as Record<string, { enabled?: unknown } | null | undefined>
  return members.filter((member) => overrides[member]?.enabled !== false)
}
