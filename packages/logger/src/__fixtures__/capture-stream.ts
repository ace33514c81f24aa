import type { LogStream } from '../console-logger.js'

/** A stream that keeps what is written, as a terminal (`isTTY`) or as a pipe. */
export function captureStream(isTTY = false): LogStream & { readonly lines: string[]; text(): string } {
  const lines: string[] = []
  return {
    isTTY,
    lines,
    write(line: string) {
      lines.push(line)
    },
    text: () => lines.join(''),
  }
}

/** The JSON lines written to `stream`, parsed. */
export function jsonLines(stream: { readonly lines: readonly string[] }): Record<string, unknown>[] {
  return stream.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
}
