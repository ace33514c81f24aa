/** Samples this process's resident set size every `intervalMs` until stopped; `stop` returns the peak in bytes. */
export function trackPeakRss(intervalMs = 10): { stop(): number } {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss()
    if (rss > peak) peak = rss
  }, intervalMs)
  timer.unref()
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage.rss())
    },
  }
}
