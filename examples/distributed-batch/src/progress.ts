/** Where progress goes: a terminal gets a bar redrawn in place, anything else a plain line every tenth of the work. */
export interface ProgressStream {
  write(text: string): unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * Reports how many of `total` runs are done, how many failed and how many resumed after a crash replaying finished
 * steps from the journal (a run killed before any of its steps finished starts over, and is not counted). In a terminal: one line, redrawn every 100 ms, with a bar. Otherwise (CI logs, pipes): a
 * line at every 10%. `note` prints a line of its own (a worker killed) without breaking the bar.
 */
export class Progress {
  readonly total: number
  done = 0
  failed = 0
  resumed = 0
  private readonly stream: ProgressStream
  private readonly startedAt = performance.now()
  private readonly timer: ReturnType<typeof setInterval> | undefined
  private nextPlainLine: number

  constructor(total: number, stream: ProgressStream = process.stderr) {
    this.total = total
    this.stream = stream
    this.nextPlainLine = Math.max(1, Math.ceil(total / 10))
    this.timer = stream.isTTY === true ? setInterval(() => this.draw(), 100) : undefined
    this.timer?.unref()
  }

  /** Counts one settled run. */
  tick(failed: boolean, resumed: boolean): void {
    this.done++
    if (failed) this.failed++
    if (resumed) this.resumed++
    if (this.timer === undefined && (this.done >= this.nextPlainLine || this.done === this.total)) {
      this.stream.write(`progress: ${this.counts()}\n`)
      this.nextPlainLine += Math.max(1, Math.ceil(this.total / 10))
    }
  }

  /** Prints a line of its own above the bar. */
  note(line: string): void {
    this.stream.write(this.timer === undefined ? `${line}\n` : `\r\u001b[K${line}\n`)
    if (this.timer !== undefined) this.draw()
  }

  /** Draws the final state and stops redrawing. */
  finish(): void {
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.draw()
    this.stream.write('\n')
  }

  private counts(): string {
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(1)
    return `${this.done}/${this.total} done, ${this.failed} failed, ${this.resumed} resumed replaying journaled steps, ${seconds} s`
  }

  private draw(): void {
    const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 70))
    const filled = this.total === 0 ? width : Math.round((this.done / this.total) * width)
    this.stream.write(`\r[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${this.counts()}\u001b[K`)
  }
}
