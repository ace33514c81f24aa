import { describe, expect, it } from 'vitest'
import { toProviderToolCallId } from './tool-call-id.js'

describe('toProviderToolCallId', () => {
  const anthropic = { disallowed: /[^a-zA-Z0-9_-]/g }
  const openai = { maxLength: 40 }

  it('keeps an id the provider takes as it is', () => {
    expect(toProviderToolCallId('toolu_01A09q90qw90lq917835lq9', anthropic)).toBe('toolu_01A09q90qw90lq917835lq9')
    expect(toProviderToolCallId('call_abc', openai)).toBe('call_abc')
    expect(toProviderToolCallId('x'.repeat(40), openai)).toBe('x'.repeat(40))
  })

  it('makes another id fit, the same way every time, two ids never becoming one', () => {
    const colon = toProviderToolCallId('functions.get_weather:0', anthropic)
    const dot = toProviderToolCallId('functions.get_weather.0', anthropic)
    expect(colon).toMatch(/^functions_get_weather_0_[0-9a-f]{8}$/)
    expect(dot).toMatch(/^functions_get_weather_0_[0-9a-f]{8}$/)
    expect(colon).not.toBe(dot)
    expect(toProviderToolCallId('functions.get_weather:0', anthropic)).toBe(colon)
    const long = `call_${'a'.repeat(40)}|fc_${'b'.repeat(40)}`
    const short = toProviderToolCallId(long, openai)
    expect(short).toHaveLength(40)
    expect(short.startsWith('call_aaa')).toBe(true)
    expect(toProviderToolCallId(`${long}2`, openai)).not.toBe(short)
  })
})
