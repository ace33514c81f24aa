const dayName = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const longDayName = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const monthName = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const timeOfDay = '(\\d{2}):(\\d{2}):(\\d{2})'
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** `Sun, 06 Nov 1994 08:49:37 GMT`: day, month, year, hour, minute, second. */
const imfFixdate = new RegExp(`^${dayName}, (\\d{2}) ${monthName} (\\d{4}) ${timeOfDay} GMT$`)
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete): day, month, two-digit year, hour, minute, second. */
const rfc850Date = new RegExp(`^${longDayName}, (\\d{2})-${monthName}-(\\d{2}) ${timeOfDay} GMT$`)
/** `Sun Nov  6 08:49:37 1994` (obsolete): month, day (space-padded), hour, minute, second, year. */
const asctimeDate = new RegExp(`^${dayName} ${monthName} ( \\d|\\d{2}) ${timeOfDay} (\\d{4})$`)

/**
 * The time an HTTP date names, in epoch ms, or `undefined` when `value` is not one. Only the three forms of RFC 9110
 * §5.6.7 are read — IMF-fixdate, and the obsolete RFC 850 and asctime forms — each exactly, with a real calendar date
 * and time of day: `Date.parse` would take `Dec 12`, `abc 2026` or `later 2030` for dates as well. A two-digit year
 * more than 50 years after `now` is the most recent past year with those digits, as RFC 9110 requires.
 *
 * @example
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT') // 784111777000
 * parseHttpDate('Dec 12') // undefined
 */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  let match = imfFixdate.exec(value)
  if (match !== null) return toEpoch(Number(match[3]), match[2], match[1], match[4], match[5], match[6])
  match = rfc850Date.exec(value)
  if (match !== null) {
    const thisYear = new Date(now).getUTCFullYear()
    let year = thisYear - (thisYear % 100) + Number(match[3])
    if (year > thisYear + 50) year -= 100
    return toEpoch(year, match[2], match[1], match[4], match[5], match[6])
  }
  match = asctimeDate.exec(value)
  if (match !== null) return toEpoch(Number(match[6]), match[1], match[2], match[3], match[4], match[5])
  return undefined
}

function toEpoch(
  year: number,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | undefined {
  const monthIndex = months.indexOf(month as string)
  const date = Number(day)
  const hours = Number(hour)
  const minutes = Number(minute)
  const seconds = Number(second)
  const daysInMonth = new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate()
  // Second 60 is a leap second.
  if (date < 1 || date > daysInMonth || hours > 23 || minutes > 59 || seconds > 60) return undefined
  return Date.UTC(year, monthIndex, date, hours, minutes, seconds)
}
