/** What the credit pipeline classifies: who applied, and the application as a loan officer would read it. */
export interface LoanApplication {
  readonly applicant: string
  readonly loan_application: string
}

/** The original Python tiny-llm's good application, word for word. */
export const goodLoanApplication: LoanApplication = {
  applicant: 'Good application',
  loan_application: `The loan application showcases a commendable financial profile with an excellent credit history. The applicant's credit score
demonstrates a history of timely payments, responsible credit usage, and a low utilization rate, reflecting a consistent
track record of financial prudence. Moreover, the applicant's income documentation reveals a stable employment history
with a steady and substantial income stream. The debt-to-income ratio is well within the acceptable range, indicating a
manageable level of existing debt. Overall, the applicant's solid credit standing and stable financial situation make
this loan application an appealing opportunity for potential lenders.`,
}

/** Its mirror image, so that the pipeline's other branch runs too. */
export const badLoanApplication: LoanApplication = {
  applicant: 'Bad application',
  loan_application: `The loan application presents a concerning financial profile with a poor credit history. The applicant's credit report
shows repeated late payments, two accounts sent to collections in the past year, and credit cards used close to their
limits. The income documentation reveals three changes of employer in eighteen months and an irregular income stream.
The debt-to-income ratio is well above the acceptable range, indicating a heavy burden of existing debt. Overall, the
applicant's weak credit standing and unstable financial situation make this loan application a high risk for lenders.`,
}
