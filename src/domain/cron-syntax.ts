/**
 * Cron syntax in plain words.
 *
 * croner (schedule.ts) decides when an expression fires; this module decides whether an expression
 * is valid and, when it is not, says what is wrong in words a user can act on, naming the cron
 * field: "minute field '61' is out of range 0–59". Users never see croner's own text ("CronPattern:
 * Syntax error, illegal upper range (NaN)"): it names internals (NaN, "part", "configuration entry 3")
 * and stops at the first problem it meets, in an order that is not the user's.
 *
 * Rules: croner's grammar with its default options (mode "auto", sloppyRanges off), rule for rule,
 * so this accepts exactly what croner accepts, with two deliberate exceptions: a stepped range must
 * end inside the field's range (croner checks only the values it visits, so it takes '0-70/50',
 * minutes 0 and 50, although 70 is no minute), and a seventh field (croner's year) is refused, as
 * the API documents 5 or 6. `cron-syntax.test.ts` compares the two over generated expressions, so
 * a croner upgrade that changes the grammar fails there.
 *
 * Per field, after `?` is read as `*` (croner does this in every field):
 * - a list of items separated by commas, each `*`, `n`, `a-b`, `*∕s` or `a-b∕s` (a step needs `*`
 *   or a range before it: `5/10` is refused);
 * - month: names JAN–DEC; day-of-week: names SUN–SAT, `n#k` (the k-th weekday n of the month, k
 *   1–5), `nL` (the last weekday n), and a leading `+` (day-of-month AND day-of-week);
 * - day-of-month: `L` (last day, alone or in a list), `LW` (last weekday, alone), `nW` (the weekday
 *   nearest day n).
 */

export const CRON_FIELDS = ['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
export type CronField = (typeof CRON_FIELDS)[number];

/** Shorthands croner expands (case-insensitive). */
export const CRON_NICKNAMES = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
] as const;

interface FieldRule {
  min: number;
  max: number;
  /** How many values the field has: a step may not be larger. */
  size: number;
  /** The allowed values, as told to the user. */
  range: string;
  /** What the field may contain besides numbers, '*', ranges, lists and steps. */
  extras: string;
  /** Characters croner allows in the field (after names are replaced by numbers). */
  allowed: RegExp;
}

const NUMERIC = /^[/*0-9,-]*$/;

const RULES: Record<CronField, FieldRule> = {
  second: { min: 0, max: 59, size: 60, range: '0–59', extras: '', allowed: NUMERIC },
  minute: { min: 0, max: 59, size: 60, range: '0–59', extras: '', allowed: NUMERIC },
  hour: { min: 0, max: 23, size: 24, range: '0–23', extras: '', allowed: NUMERIC },
  'day-of-month': {
    min: 1,
    max: 31,
    size: 31,
    range: '1–31',
    extras: ', L (last day) and 15W (weekday nearest the 15th)',
    allowed: /^[/*0-9,\-WwLl]*$/,
  },
  month: {
    min: 1,
    max: 12,
    size: 12,
    range: '1–12 (or JAN–DEC)',
    extras: ' and names JAN–DEC',
    allowed: NUMERIC,
  },
  'day-of-week': {
    min: 0,
    max: 7,
    size: 7,
    range: '0–7 (0 and 7 are Sunday; or SUN–SAT)',
    extras: ', names SUN–SAT, 5#2 (second Friday) and 5L (last Friday)',
    allowed: /^[/*0-9,\-#Ll]*$/,
  },
};

// croner's tables, in croner's order ("-sun" before "sun": MON-SUN means 1-7).
const MONTH_NAMES: Record<string, string> = {
  jan: '1',
  feb: '2',
  mar: '3',
  apr: '4',
  may: '5',
  jun: '6',
  jul: '7',
  aug: '8',
  sep: '9',
  oct: '10',
  nov: '11',
  dec: '12',
};
const DAY_NAMES: Record<string, string> = {
  '-sun': '-7',
  sun: '0',
  mon: '1',
  tue: '2',
  wed: '3',
  thu: '4',
  fri: '5',
  sat: '6',
};

const FIVE_FIELDS: readonly CronField[] = CRON_FIELDS.slice(1);

/**
 * What is wrong with a cron expression's syntax, in plain words, or null when croner will accept
 * it. Does not say whether it ever fires (schedule.ts `checkCron` asks croner that).
 */
export function cronSyntaxProblem(expression: string): string | null {
  const trimmed = expression.trim();
  if (trimmed === '') return 'must not be empty';
  if (trimmed.startsWith('@') && !/\s/.test(trimmed)) {
    if ((CRON_NICKNAMES as readonly string[]).includes(trimmed.toLowerCase())) return null;
    return `'${trimmed}' is not a shorthand cron knows; use @hourly, @daily, @weekly, @monthly or @yearly, or write the fields`;
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return `expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${parts.length}`;
  }
  const fields = parts.length === 6 ? CRON_FIELDS : FIVE_FIELDS;
  for (const [i, field] of fields.entries()) {
    const problem = checkField(field, parts[i]!);
    if (problem !== null) return problem;
  }
  return null;
}

function checkField(field: CronField, raw: string): string | null {
  const rule = RULES[field];
  const say = (detail: string) => `${field} field '${raw}' ${detail}`;
  let text = raw.replace(/\?/g, '*');
  let lastDay = false;

  if (field === 'day-of-month' && /l/i.test(text)) {
    if (text.toUpperCase() === 'LW') return null;
    const items = text.split(',');
    if (items.some((item) => item.toUpperCase() === 'LW')) {
      return say('uses LW (the last weekday of the month), which must stand alone');
    }
    if (items.includes('')) return say('has an empty item in its list');
    if (items.some((item) => item.toUpperCase() !== 'L' && /l/i.test(item))) {
      return say(
        "uses L (the last day of the month) inside another value; write L on its own, as in 'L' or 'L,15'",
      );
    }
    text = items.filter((item) => item.toUpperCase() !== 'L').join(',');
    lastDay = true;
  }
  if (field === 'month' && text.length >= 3) {
    const replaced = replaceNames(text, MONTH_NAMES);
    if (replaced === null) {
      return say(
        'has a month name run together with other text; write each name alone, as in JAN or JAN-MAR',
      );
    }
    text = replaced;
  }
  if (field === 'day-of-week') {
    if (text.length >= 3) {
      const replaced = replaceNames(text, DAY_NAMES);
      if (replaced === null) {
        return say(
          'has a day name run together with other text; write each name alone, as in MON or MON-FRI',
        );
      }
      text = replaced;
    }
    if (text.startsWith('+')) {
      text = text.slice(1);
      if (text === '') return say("has nothing after '+'; write the days, as in +MON");
    }
  }
  if (!rule.allowed.test(text)) return say(unexpectedText(field, text, raw));

  if (text === '') return lastDay ? null : say('is empty');
  if (text === '*') return null;
  const items = text.split(',');
  for (const item of items) {
    if (item === '') return say('has an empty item in its list');
    const fault = checkItem(field, item);
    if (fault === null) continue;
    if (fault.value !== undefined) {
      return fault.value === raw
        ? say(fault.detail)
        : `${field} field '${raw}': ${fault.value} ${fault.detail}`;
    }
    return items.length === 1 ? say(fault.detail) : `${field} field '${raw}': '${item}' ${fault.detail}`;
  }
  return null;
}

/** A problem with one list item, or (`value`) with one value inside it. */
interface ItemProblem {
  detail: string;
  value?: string;
}

function problem(detail: string): ItemProblem {
  return { detail };
}

function checkItem(field: CronField, item: string): ItemProblem | null {
  const rule = RULES[field];
  if (item === '*') return null;
  const hasDash = item.includes('-');
  const hasSlash = item.includes('/');
  if ((hasDash || hasSlash) && /w/i.test(item)) {
    return problem('uses W (the weekday nearest a day) with a range or step; W takes one day, as in 15W');
  }
  // `#k` or a trailing `L` (day-of-week only; other fields cannot contain them by now).
  let base = item;
  let nth: string | null = null;
  if (item.includes('#')) {
    const pieces = item.split('#');
    if (pieces.length !== 2 || pieces[1] === '') {
      return problem('is not a valid nth weekday; write day#n, as in 5#2 (the second Friday)');
    }
    [base, nth] = [pieces[0]!, pieces[1]!];
  } else if (item.toUpperCase().endsWith('L')) {
    [base, nth] = [item.slice(0, -1), 'L'];
  }
  const nthProblem = nth !== null && !validNth(nth);

  const outOfRange = (value: number): ItemProblem | null =>
    value < rule.min || value > rule.max
      ? { detail: `is out of range ${rule.range}`, value: String(value) }
      : null;
  const stepProblem = (step: number): ItemProblem | null => {
    if (step === 0) return problem('has a step of 0; the step must be at least 1');
    if (step > rule.size) {
      return problem(`has a step of ${step}, more than the ${rule.size} values the field has`);
    }
    return null;
  };
  const backwards = (from: number, to: number) =>
    from > to
      ? problem(`is a range that runs backwards (${from} to ${to}); write the lower value first`)
      : null;
  const badNth = () =>
    problem('has an occurrence after # outside 1–5; write day#n, as in 5#2 (the second Friday)');

  if (hasDash && hasSlash) {
    const m = /^(\d+)-(\d+)\/(\d+)$/.exec(base);
    if (!m) return problem('is not a valid stepped range; write low-high/step, as in 0-30/5');
    const [from, to, step] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return (
      backwards(from, to) ??
      stepProblem(step) ??
      outOfRange(from) ??
      outOfRange(to) ??
      (nthProblem ? badNth() : null)
    );
  }
  if (hasDash) {
    const ends = base.split('-');
    if (ends.length !== 2 || !isDigits(ends[0]!) || !isDigits(ends[1]!)) {
      return problem('is not a valid range; write low-high, as in 9-17');
    }
    const [from, to] = [Number(ends[0]), Number(ends[1])];
    return backwards(from, to) ?? outOfRange(from) ?? outOfRange(to) ?? (nthProblem ? badNth() : null);
  }
  if (hasSlash) {
    const pieces = base.split('/');
    if (pieces.length !== 2) return problem('is not a valid step; write */step or low-high/step, as in */10');
    if (pieces[0] !== '*') {
      return problem("has a step without '*' or a range before it; write */10 or 5-59/10");
    }
    if (!isDigits(pieces[1]!))
      return problem('has a step that is not a whole number; write */step, as in */10');
    return stepProblem(Number(pieces[1])) ?? (nthProblem ? badNth() : null);
  }
  if (field === 'day-of-month' && /w/i.test(base)) {
    const day = base.replace(/w$/i, '');
    if (!isDigits(day))
      return problem('uses W (the weekday nearest a day) without a day; write it as in 15W');
    return outOfRange(Number(day));
  }
  if (!isDigits(base)) {
    if (base === '' && nth === 'L') {
      return problem('has L without a day; write it after the day, as in 5L (the last Friday)');
    }
    return problem('is not a number');
  }
  return outOfRange(Number(base)) ?? (nthProblem ? badNth() : null);
}

function isDigits(text: string): boolean {
  return /^\d+$/.test(text);
}

/** croner: `L` (the last one) or a number 1–5 (the k-th weekday of the month). */
function validNth(nth: string): boolean {
  if (nth.toUpperCase() === 'L') return true;
  const k = Number(nth);
  return k > 0 && k < 6;
}

/**
 * croner's name replacement: each name, case-insensitively, becomes its number, unless it is run
 * together with other text (a letter other than L, a digit, `/` or `#` around it). Null then.
 */
function replaceNames(text: string, names: Record<string, string>): string | null {
  let out = text;
  for (const [name, number] of Object.entries(names)) {
    let joined = false;
    out = out.replace(new RegExp(name, 'gi'), (match: string, offset: number, whole: string) => {
      const start = offset + match.length - 3;
      if (/[a-z\d/#]/i.test(whole.charAt(start - 1)) || /[a-km-z\d]/i.test(whole.charAt(start + 3))) {
        joined = true;
      }
      return number;
    });
    if (joined) return null;
  }
  return out;
}

function unexpectedText(field: CronField, text: string, raw: string): string {
  const rule = RULES[field];
  let at = 0;
  for (const c of text) {
    if (!rule.allowed.test(c)) break;
    at += c.length;
  }
  const character = String.fromCodePoint(text.codePointAt(at)!);
  if (/[a-z]/i.test(character)) {
    const word = /^[a-z]+/i.exec(text.slice(at))![0];
    const subject = word === raw ? 'is' : `has '${word}', which is`;
    if (field === 'month') return `${subject} not a month name; use JAN–DEC or 1–12`;
    if (field === 'day-of-week') return `${subject} not a day name; use SUN–SAT or 0–7`;
    return `${subject} not a number; use ${rule.range}`;
  }
  return `contains '${character}', which is not allowed; use numbers, '*', ranges (1-5), lists (1,15) and steps (*/10)${rule.extras}`;
}
