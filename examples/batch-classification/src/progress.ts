/** Where progress goes: a terminal gets a bar redrawn in place, anything else a plain line every tenth of the work. */
export interface ProgressStream {
  write(text: string): unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * Reports how many of `total` items are done. In a terminal: one line, redrawn at most every 100 ms, with a bar,
 * the counts, the failures and the elapsed time. Otherwise (CI logs, pipes): a line at every 10%, so logs stay short.
 */
export class Progress {
  readonly total: number
  done = 0
  failed = 0
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

  /** Counts one finished item. */
  tick(failed: boolean): void {
    this.done++
    if (failed) this.failed++
    if (this.timer === undefined && (this.done >= this.nextPlainLine || this.done === this.total)) {
      this.stream.write(`progress: ${this.counts()}\n`)
      this.nextPlainLine += Math.max(1, Math.ceil(this.total / 10))
    }
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
    return `${this.done}/${this.total} done, ${this.failed} failed, ${seconds} s`
  }

  private draw(): void {
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 50))
    const filled = this.total === 0 ? width : Math.round((this.done / this.total) * width)
    this.stream.write(`\r[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${this.counts()}\u001b[K`)
  }
}
