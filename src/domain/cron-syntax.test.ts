import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { cronSyntaxProblem } from './cron-syntax.ts';
import { checkCron } from './schedule.ts';

/** croner's verdict, with its own message (which users must never see). */
function croner(expression: string): string | null {
  try {
    new Cron(expression, { paused: true, timezone: 'UTC' });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Where we are stricter than croner on purpose: a stepped range whose upper end is beyond the field
 * (croner checks only the values it visits: '0-70/50' visits 0 and 50), and a seventh (year)
 * field, which the API does not offer.
 */
const LIMITS = { second: 59, minute: 59, hour: 23, 'day-of-month': 31, month: 12, 'day-of-week': 7 };
function hasSteppedRangeBeyondItsField(expression: string): boolean {
  const parts = expression.trim().split(/\s+/);
  const names = Object.keys(LIMITS).slice(parts.length === 6 ? 0 : 1) as (keyof typeof LIMITS)[];
  return parts.some((part, i) =>
    [...part.matchAll(/(\d+)-(\d+)\/\d+/g)].some((m) => Number(m[2]) > LIMITS[names[i]!]),
  );
}

describe('cronSyntaxProblem: plain words naming the field', () => {
  it.each([
    ['61 * * * *', "minute field '61' is out of range 0–59"],
    ['* 24 * * *', "hour field '24' is out of range 0–23"],
    ['* * 0 * *', "day-of-month field '0' is out of range 1–31"],
    ['* * * 13 *', "month field '13' is out of range 1–12 (or JAN–DEC)"],
    ['* * * * 8', "day-of-week field '8' is out of range 0–7 (0 and 7 are Sunday; or SUN–SAT)"],
    ['60 * * * * *', "second field '60' is out of range 0–59"],
    // Found by the property below (seed -579440733): the quote repeats the user's text as typed.
    ['NAN0 * * * *', "minute field 'NAN0' has 'NAN', which is not a number; use 0–59"],
    ['5,61 * * * *', "minute field '5,61': 61 is out of range 0–59"],
    ['* 0-24 * * *', "hour field '0-24': 24 is out of range 0–23"],
    ['0-70/50 * * * *', "minute field '0-70/50': 70 is out of range 0–59"],
    [
      '* * *',
      'expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 3',
    ],
    [
      '* * * * * * *',
      'expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 7',
    ],
    [
      'every day',
      'expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 2',
    ],
    ['x * * * *', "minute field 'x' is not a number; use 0–59"],
    ['* * * FOO *', "month field 'FOO' is not a month name; use JAN–DEC or 1–12"],
    ['* * * * MON,FOO', "day-of-week field 'MON,FOO' has 'FOO', which is not a day name; use SUN–SAT or 0–7"],
    [
      '* * * JANUARY *',
      "month field 'JANUARY' has a month name run together with other text; write each name alone, as in JAN or JAN-MAR",
    ],
    [
      '17-9 * * * *',
      "minute field '17-9' is a range that runs backwards (17 to 9); write the lower value first",
    ],
    [
      '* * * * FRI-MON',
      "day-of-week field 'FRI-MON' is a range that runs backwards (5 to 1); write the lower value first",
    ],
    ['* 1-2-3 * * *', "hour field '1-2-3' is not a valid range; write low-high, as in 9-17"],
    [
      '5/10 * * * *',
      "minute field '5/10' has a step without '*' or a range before it; write */10 or 5-59/10",
    ],
    ['*/0 * * * *', "minute field '*/0' has a step of 0; the step must be at least 1"],
    ['*/61 * * * *', "minute field '*/61' has a step of 61, more than the 60 values the field has"],
    ['1, * * * *', "minute field '1,' has an empty item in its list"],
    [
      '* * 5L * *',
      "day-of-month field '5L' uses L (the last day of the month) inside another value; write L on its own, as in 'L' or 'L,15'",
    ],
    [
      '* * LW,5 * *',
      "day-of-month field 'LW,5' uses LW (the last weekday of the month), which must stand alone",
    ],
    [
      '* * 1W-5 * *',
      "day-of-month field '1W-5' uses W (the weekday nearest a day) with a range or step; W takes one day, as in 15W",
    ],
    [
      '* * * * 5#6',
      "day-of-week field '5#6' has an occurrence after # outside 1–5; write day#n, as in 5#2 (the second Friday)",
    ],
    [
      '* * * * L',
      "day-of-week field 'L' has L without a day; write it after the day, as in 5L (the last Friday)",
    ],
    ['* * * * +', "day-of-week field '+' has nothing after '+'; write the days, as in +MON"],
    [
      '0 @ * * *',
      "hour field '@' contains '@', which is not allowed; use numbers, '*', ranges (1-5), lists (1,15) and steps (*/10)",
    ],
    [
      '@reboot',
      "'@reboot' is not a shorthand cron knows; use @hourly, @daily, @weekly, @monthly or @yearly, or write the fields",
    ],
    ['', 'must not be empty'],
  ])('%j → %s', (expression, message) => {
    expect(cronSyntaxProblem(expression)).toBe(message);
    // croner refuses every one of them too (except what we refuse on purpose).
    const onPurpose = hasSteppedRangeBeyondItsField(expression) || expression.split(' ').length === 7;
    if (!onPurpose && expression !== '') expect(croner(expression)).not.toBeNull();
  });

  it.each([
    '* * * * *',
    '0 9 * * 1-5',
    '*/15 * * * *',
    '30 0 9 * * *',
    '0 0 L * *',
    '0 0 L,15 * *',
    '0 0 LW * *',
    '0 0 15W * *',
    '0 0 ? * MON#2',
    '0 0 * * 5L',
    '0 0 * * MON-SUN',
    '0 0 1 JAN-MAR,DEC *',
    '0 0 13 * +FRI',
    '0-30/5 9-17 * * 1-5',
    '@daily',
    '@ANNUALLY',
  ])('accepts %j, as croner does', (expression) => {
    expect(cronSyntaxProblem(expression)).toBeNull();
    expect(croner(expression)).toBeNull();
  });
});

describe('cronSyntaxProblem agrees with croner (every form at every bound)', () => {
  // Each form of item the grammar has, with values at and around every field's bounds, alone in
  // each field of a 6-field expression (the others '*'): every rule is met at its border.
  const N = [
    '0',
    '1',
    '2',
    '5',
    '6',
    '7',
    '8',
    '12',
    '13',
    '23',
    '24',
    '31',
    '32',
    '59',
    '60',
    '61',
    '00',
    '007',
  ];
  const SUFFIXES = ['W', 'w', 'L', 'l', 'LW', '#0', '#1', '#5', '#6', '#L', '#', '#1#2', '?'];
  const NAMES = ['JAN', 'dec', 'Sep', 'MON', 'sun', 'SAT', 'FOO', 'MONDAY', 'JANL', 'SUNL'];
  const items = [
    ...N,
    ...NAMES,
    ...[
      '*',
      '?',
      'L',
      'l',
      'LW',
      'lw',
      'W',
      '#',
      '+',
      '/',
      '-',
      '*/',
      '/5',
      '-5',
      '5-',
      '1-2-3',
      '*-5',
      '+*',
      '+MON',
      'L,L',
      'L,5',
      'LW,5',
    ],
    ...N.flatMap((a) => N.map((b) => `${a}-${b}`)),
    ...N.map((a) => `*/${a}`),
    ...N.map((a) => `${a}/5`),
    ...N.flatMap((a) => N.flatMap((b) => ['1', '7', '12', '60', '61'].map((st) => `${a}-${b}/${st}`))),
    ...N.flatMap((a) => SUFFIXES.map((sx) => a + sx)),
    ...['*/2', '1-5', '1-5/2', '0-7'].flatMap((a) => SUFFIXES.map((sx) => a + sx)),
    ...NAMES.flatMap((a) => NAMES.map((b) => `${a}-${b}`)),
    ...NAMES.flatMap((a) => ['#2', 'L', '/2', '-7'].map((sx) => a + sx)),
  ];

  it(`agrees on ${items.length} items × 6 fields, except stepped ranges ending beyond the field`, () => {
    const disagreements: string[] = [];
    for (const item of items) {
      for (let at = 0; at < 6; at++) {
        const text = Array.from({ length: 6 }, (_, i) => (i === at ? item : '*')).join(' ');
        const ours = cronSyntaxProblem(text);
        const theirs = croner(text);
        if (
          (ours === null) !== (theirs === null) &&
          !(theirs === null && hasSteppedRangeBeyondItsField(text))
        ) {
          disagreements.push(`${text} — ours: ${ours}; croner: ${theirs}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });
});

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by vitest.domain.config.ts (mutation testing): property tests run 1/20 of their cases. */
    fewerPropertyRuns?: boolean;
  }
}

/** `n` cases, or 1/20 of them under mutation testing, where every surviving mutant reruns them. */
function runs(n: number): number {
  return inject('fewerPropertyRuns') === true ? Math.ceil(n / 20) : n;
}

describe('cronSyntaxProblem agrees with croner (property)', () => {
  // Items built from the grammar's pieces, well-formed or not, so that most expressions are near
  // misses: the interesting side of the border.
  // Values at and around every field's bounds, and a few odd spellings.
  const number = fc.oneof(
    fc.constantFrom(0, 1, 2, 5, 6, 7, 8, 11, 12, 13, 23, 24, 25, 30, 31, 32, 59, 60, 61).map(String),
    fc.integer({ min: 0, max: 75 }).map(String),
    fc.constantFrom('00', '007', '99999'),
  );
  const name = fc.constantFrom('JAN', 'dec', 'MON', 'sun', 'Fri', 'FOO', 'MONDAY', 'JANL', 'SUNL', '-SUN');
  const item = fc.oneof(
    number,
    name,
    fc.constantFrom('*', '?', 'L', 'LW', 'W', 'l', '#', '+', '', '/', '-'),
    fc.tuple(number, number).map(([a, b]) => `${a}-${b}`),
    fc.tuple(name, name).map(([a, b]) => `${a}-${b}`),
    number.map((s) => `*/${s}`),
    fc.tuple(number, number).map(([a, b]) => `${a}/${b}`),
    fc.tuple(number, number, number).map(([a, b, s]) => `${a}-${b}/${s}`),
    fc
      .tuple(number, fc.constantFrom('W', 'w', 'L', '#1', '#5', '#6', '#0', '#', '#L', '?'))
      .map(([a, b]) => a + b),
    fc.tuple(fc.constantFrom('*/2', '1-5', '1-5/2'), fc.constantFrom('#2', 'L', 'W')).map(([a, b]) => a + b),
  );
  const field = fc
    .oneof(
      {
        weight: 4,
        arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(',')),
      },
      { weight: 1, arbitrary: item.map((i) => `+${i}`) },
      {
        weight: 1,
        arbitrary: fc.string({
          unit: fc.constantFrom(...'0123456789*/,-#LlWw?+JANMO@x'.split('')),
          minLength: 1,
          maxLength: 6,
        }),
      },
    )
    .filter((f) => f !== '');
  // Mostly one generated field among '*'s, so that its verdict is the expression's; sometimes
  // every field generated.
  const expression = fc.oneof(
    fc
      .tuple(fc.constantFrom(5, 6), fc.nat(5), field)
      .map(([n, at, f]) => Array.from({ length: n }, (_, i) => (i === at % n ? f : '*'))),
    fc.array(field, { minLength: 5, maxLength: 5 }),
    fc.array(field, { minLength: 6, maxLength: 6 }),
  );

  it('accepts exactly what croner accepts, except stepped ranges ending beyond the field', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(expression, (fields) => {
        const text = fields.join(' ');
        const ours = cronSyntaxProblem(text);
        const theirs = croner(text);
        if (theirs !== null) expect(ours, `croner refuses ${text}: ${theirs}`).not.toBeNull();
        if (ours !== null && theirs === null)
          expect(hasSteppedRangeBeyondItsField(text), `${text}: ${ours}`).toBe(true);
        if (theirs === null) accepted += 1;
        else refused += 1;
      }),
      { numRuns: runs(10_000) },
    );
    // Both sides of the border were explored.
    expect(Math.min(accepted, refused)).toBeGreaterThan(runs(10_000) / 100);
  });

  it("never answers with croner's text", () => {
    fc.assert(
      fc.property(expression, (fields) => {
        const message = checkCron(fields.join(' '));
        if (message !== null) {
          // Quoted parts repeat the user's own text (a field 'NAN0' is quoted back as typed);
          // only our words around them must be free of croner's vocabulary.
          const ourWords = message.replace(/'[^']*'/g, "''");
          expect(ourWords).not.toMatch(/CronPattern|NaN|configuration entry|part/i);
          expect(message).toMatch(
            /^(second|minute|hour|day-of-month|month|day-of-week) field '|^never fires/,
          );
        }
      }),
      { numRuns: runs(5_000) },
    );
  });
});
