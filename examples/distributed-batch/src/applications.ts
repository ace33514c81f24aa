/** One generated loan application. */
export interface LoanApplication {
  readonly id: string
  readonly applicant: string
  /** The text the model classifies. */
  readonly loan_application: string
}

const firstNames = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken']
const lastNames = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton']

/** A deterministic source of numbers in [0, 1) (mulberry32): the same seed gives the same applications. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state)
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** `count` applications from `seed`: a credit score, a debt-to-income ratio and missed payments each. */
export function generateApplications(count: number, seed: number): LoanApplication[] {
  const random = seededRandom(seed)
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1))
  return Array.from({ length: count }, (_, index) => {
    const applicant = `${firstNames[between(0, firstNames.length - 1)]} ${lastNames[between(0, lastNames.length - 1)]}`
    const score = between(540, 840)
    const debtToIncome = between(5, 60)
    const missed = random() < 0.7 ? 0 : between(1, 6)
    const id = `APP-${String(index + 1).padStart(5, '0')}`
    return {
      id,
      applicant,
      loan_application: `${id}, ${applicant}: credit score ${score}, debt-to-income ${debtToIncome}%, ${missed} missed payments in 24 months.`,
    }
  })
}

/** The application a model request is about. */
export function applicationIdOf(body: unknown): string | undefined {
  const messages = (body as { messages?: ReadonlyArray<{ content?: unknown }> } | undefined)?.messages
  return /APP-\d+/.exec(String(messages?.at(-1)?.content ?? ''))?.[0]
}

/** The offline model: good for a score ≥ 680 with debt-to-income ≤ 40% and at most one missed payment, else bad. */
export function underwrite(request: { readonly messages: ReadonlyArray<{ role: string; content?: unknown }> }): string {
  const text = String(request.messages.findLast((message) => message.role === 'user')?.content ?? '')
  const number = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN)
  const good =
    number(/credit score (\d+)/) >= 680 && number(/debt-to-income (\d+)%/) <= 40 && number(/(\d+) missed/) <= 1
  // Models are not always tidy; the Decision normalises the answer before checking it.
  return good ? 'Good.' : 'bad'
}
