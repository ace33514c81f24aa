/** One generated loan application: the figures, and the summary a loan officer (or a model) reads. */
export interface Application {
  readonly id: string
  readonly applicant: string
  /** `undefined` when the applicant did not provide one. */
  readonly creditScore: number | undefined
  readonly annualIncome: number
  readonly monthlyDebt: number
  readonly missedPayments: number
  readonly yearsEmployed: number
  /** Scanned pages attached to the application; a few applicants attach far too many. */
  readonly attachedPages: number
  /** The text the model classifies. */
  readonly summary: string
}

const firstNames = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken']
const lastNames = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton']

/**
 * A deterministic source of numbers in [0, 1) (mulberry32): the same seed gives the same applications on every
 * machine and every run.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state)
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * Generates `count` loan applications from `seed`. About 1% leave out their credit score and about 0.5% attach a
 * 400-page scan: the pipeline must account for those too.
 */
export function generateApplications(count: number, seed: number): Application[] {
  const random = seededRandom(seed)
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1))
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  const applications: Application[] = []
  for (let index = 1; index <= count; index++) {
    const applicant = `${pick(firstNames)} ${pick(lastNames)}`
    const creditScore = random() < 0.01 ? undefined : between(540, 840)
    const annualIncome = between(18, 240) * 1_000
    const monthlyDebt = Math.round((annualIncome / 12) * (0.05 + random() * 0.5))
    const missedPayments = random() < 0.7 ? 0 : between(1, 6)
    const yearsEmployed = between(0, 25)
    const attachedPages = random() < 0.005 ? 400 : between(0, 5)
    const debtToIncome = Math.round(((monthlyDebt * 12) / annualIncome) * 100)
    const summary = [
      creditScore === undefined ? 'Credit score not provided.' : `Credit score ${creditScore}.`,
      `Annual income $${annualIncome.toLocaleString('en-US')}.`,
      `Monthly debt payments $${monthlyDebt.toLocaleString('en-US')} (debt-to-income ${debtToIncome}%).`,
      `${missedPayments} missed payment${missedPayments === 1 ? '' : 's'} in the last 24 months.`,
      `${yearsEmployed} year${yearsEmployed === 1 ? '' : 's'} with the current employer.`,
      `${attachedPages} scanned page${attachedPages === 1 ? '' : 's'} attached.`,
    ].join(' ')
    applications.push({
      id: `APP-${String(index).padStart(4, '0')}`,
      applicant,
      creditScore,
      annualIncome,
      monthlyDebt,
      missedPayments,
      yearsEmployed,
      attachedPages,
      summary,
    })
  }
  return applications
}
