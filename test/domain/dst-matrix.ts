/**
 * The DST matrix (issue 13): cron schedules across daylight-saving changes, with the fire times
 * each `dst` policy gives, worked out by hand from the zones' rules (not computed by the code under
 * test; dst-matrix.test.ts checks the code against them). docs/scheduling.md shows the table
 * `renderDstMatrix` makes from it; `npm run docs:dst` rewrites it, and the test fails when stale.
 *
 * Times are local, with the UTC offset in force: `2027-03-28T03:00+02:00`. A window is [from, to).
 */

export type Hits = 'gap' | 'overlap' | 'neither';

export interface MatrixRow {
  zone: string;
  /** The change, in words, as the table shows it. */
  change: string;
  cron: string;
  hits: Hits;
  from: string;
  to: string;
  /**
   * gap rows: by `dst.gap`; overlap rows: by the overlap policy in force (FIRST, BOTH) and which
   * one the default is for this expression; neither: the same under every policy.
   */
  fires:
    | { RUN_AFTER_GAP: string[]; SKIP: string[] }
    | { FIRST: string[]; BOTH: string[]; default: 'FIRST' | 'BOTH' }
    | { every: string[] };
}

const NY_SPRING = '2027-03-14 02:00 EST → 03:00 EDT (gap 02:00–03:00)';
const NY_AUTUMN = '2027-11-07 02:00 EDT → 01:00 EST (01:00–02:00 twice)';
const BER_SPRING = '2027-03-28 02:00 CET → 03:00 CEST (gap 02:00–03:00)';
const BER_AUTUMN = '2027-10-31 03:00 CEST → 02:00 CET (02:00–03:00 twice)';
const LH_SPRING = '2027-10-03 02:00 +10:30 → 02:30 +11 (gap 02:00–02:30)';
const LH_AUTUMN = '2027-04-04 02:00 +11 → 01:30 +10:30 (01:30–02:00 twice)';
const SCL_SPRING = '2027-09-05 00:00 -04 → 01:00 -03 (gap 00:00–01:00)';
const SCL_AUTUMN = '2027-04-04 00:00 -03 → 04-03 23:00 -04 (23:00–24:00 twice)';
const THR_SPRING = '2027-03-22 00:00: no change (no DST since 2022)';
const THR_AUTUMN = '2027-09-22 00:00: no change (no DST since 2022)';
const APIA_DAY = '2011-12-29 24:00 -10 → 12-31 00:00 +14 (2011-12-30 does not exist)';
const APIA_AUTUMN = '2012-04-01 04:00 +14 → 03:00 +13 (03:00–04:00 twice)';

export const DST_MATRIX: MatrixRow[] = [
  // America/New_York
  {
    zone: 'America/New_York',
    change: NY_SPRING,
    cron: '30 2 * * *',
    hits: 'gap',
    from: '2027-03-13T00:00-05:00',
    to: '2027-03-15T12:00-04:00',
    fires: {
      RUN_AFTER_GAP: ['2027-03-13T02:30-05:00', '2027-03-14T03:00-04:00', '2027-03-15T02:30-04:00'],
      SKIP: ['2027-03-13T02:30-05:00', '2027-03-15T02:30-04:00'],
    },
  },
  {
    zone: 'America/New_York',
    change: NY_SPRING,
    cron: '*/30 * * * *',
    hits: 'gap',
    from: '2027-03-14T01:00-05:00',
    to: '2027-03-14T04:00-04:00',
    fires: {
      RUN_AFTER_GAP: [
        '2027-03-14T01:00-05:00',
        '2027-03-14T01:30-05:00',
        '2027-03-14T03:00-04:00',
        '2027-03-14T03:30-04:00',
      ],
      SKIP: [
        '2027-03-14T01:00-05:00',
        '2027-03-14T01:30-05:00',
        '2027-03-14T03:00-04:00',
        '2027-03-14T03:30-04:00',
      ],
    },
  },
  {
    zone: 'America/New_York',
    change: NY_SPRING,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-03-13T00:00-05:00',
    to: '2027-03-15T00:00-04:00',
    fires: { every: ['2027-03-13T12:00-05:00', '2027-03-14T12:00-04:00'] },
  },
  {
    zone: 'America/New_York',
    change: NY_AUTUMN,
    cron: '30 1 * * *',
    hits: 'overlap',
    from: '2027-11-06T00:00-04:00',
    to: '2027-11-08T12:00-05:00',
    fires: {
      FIRST: ['2027-11-06T01:30-04:00', '2027-11-07T01:30-04:00', '2027-11-08T01:30-05:00'],
      BOTH: [
        '2027-11-06T01:30-04:00',
        '2027-11-07T01:30-04:00',
        '2027-11-07T01:30-05:00',
        '2027-11-08T01:30-05:00',
      ],
      default: 'FIRST',
    },
  },
  {
    zone: 'America/New_York',
    change: NY_AUTUMN,
    cron: '*/30 * * * *',
    hits: 'overlap',
    from: '2027-11-07T00:00-04:00',
    to: '2027-11-07T03:00-05:00',
    fires: {
      FIRST: [
        '2027-11-07T00:00-04:00',
        '2027-11-07T00:30-04:00',
        '2027-11-07T01:00-04:00',
        '2027-11-07T01:30-04:00',
        '2027-11-07T02:00-05:00',
        '2027-11-07T02:30-05:00',
      ],
      BOTH: [
        '2027-11-07T00:00-04:00',
        '2027-11-07T00:30-04:00',
        '2027-11-07T01:00-04:00',
        '2027-11-07T01:30-04:00',
        '2027-11-07T01:00-05:00',
        '2027-11-07T01:30-05:00',
        '2027-11-07T02:00-05:00',
        '2027-11-07T02:30-05:00',
      ],
      default: 'BOTH',
    },
  },
  {
    zone: 'America/New_York',
    change: NY_AUTUMN,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-11-06T00:00-04:00',
    to: '2027-11-08T00:00-05:00',
    fires: { every: ['2027-11-06T12:00-04:00', '2027-11-07T12:00-05:00'] },
  },
  // Europe/Berlin
  {
    zone: 'Europe/Berlin',
    change: BER_SPRING,
    cron: '30 2 * * *',
    hits: 'gap',
    from: '2027-03-27T00:00+01:00',
    to: '2027-03-29T12:00+02:00',
    fires: {
      RUN_AFTER_GAP: ['2027-03-27T02:30+01:00', '2027-03-28T03:00+02:00', '2027-03-29T02:30+02:00'],
      SKIP: ['2027-03-27T02:30+01:00', '2027-03-29T02:30+02:00'],
    },
  },
  {
    zone: 'Europe/Berlin',
    change: BER_SPRING,
    cron: '15,45 2 * * *',
    hits: 'gap',
    from: '2027-03-27T00:00+01:00',
    to: '2027-03-29T12:00+02:00',
    fires: {
      RUN_AFTER_GAP: [
        '2027-03-27T02:15+01:00',
        '2027-03-27T02:45+01:00',
        '2027-03-28T03:00+02:00',
        '2027-03-29T02:15+02:00',
        '2027-03-29T02:45+02:00',
      ],
      SKIP: [
        '2027-03-27T02:15+01:00',
        '2027-03-27T02:45+01:00',
        '2027-03-29T02:15+02:00',
        '2027-03-29T02:45+02:00',
      ],
    },
  },
  {
    zone: 'Europe/Berlin',
    change: BER_SPRING,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-03-27T00:00+01:00',
    to: '2027-03-29T00:00+02:00',
    fires: { every: ['2027-03-27T12:00+01:00', '2027-03-28T12:00+02:00'] },
  },
  {
    zone: 'Europe/Berlin',
    change: BER_AUTUMN,
    cron: '30 2 * * *',
    hits: 'overlap',
    from: '2027-10-30T00:00+02:00',
    to: '2027-11-01T12:00+01:00',
    fires: {
      FIRST: ['2027-10-30T02:30+02:00', '2027-10-31T02:30+02:00', '2027-11-01T02:30+01:00'],
      BOTH: [
        '2027-10-30T02:30+02:00',
        '2027-10-31T02:30+02:00',
        '2027-10-31T02:30+01:00',
        '2027-11-01T02:30+01:00',
      ],
      default: 'FIRST',
    },
  },
  {
    zone: 'Europe/Berlin',
    change: BER_AUTUMN,
    cron: '15,45 2 * * *',
    hits: 'overlap',
    from: '2027-10-31T00:00+02:00',
    to: '2027-11-01T00:00+01:00',
    fires: {
      FIRST: ['2027-10-31T02:15+02:00', '2027-10-31T02:45+02:00'],
      BOTH: [
        '2027-10-31T02:15+02:00',
        '2027-10-31T02:45+02:00',
        '2027-10-31T02:15+01:00',
        '2027-10-31T02:45+01:00',
      ],
      default: 'FIRST',
    },
  },
  {
    zone: 'Europe/Berlin',
    change: BER_AUTUMN,
    cron: '0 * * * *',
    hits: 'overlap',
    from: '2027-10-31T01:00+02:00',
    to: '2027-10-31T04:00+01:00',
    fires: {
      FIRST: ['2027-10-31T01:00+02:00', '2027-10-31T02:00+02:00', '2027-10-31T03:00+01:00'],
      BOTH: [
        '2027-10-31T01:00+02:00',
        '2027-10-31T02:00+02:00',
        '2027-10-31T02:00+01:00',
        '2027-10-31T03:00+01:00',
      ],
      default: 'BOTH',
    },
  },
  {
    zone: 'Europe/Berlin',
    change: BER_AUTUMN,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-10-30T00:00+02:00',
    to: '2027-11-01T00:00+01:00',
    fires: { every: ['2027-10-30T12:00+02:00', '2027-10-31T12:00+01:00'] },
  },
  // Australia/Lord_Howe: a 30-minute shift
  {
    zone: 'Australia/Lord_Howe',
    change: LH_SPRING,
    cron: '15 2 * * *',
    hits: 'gap',
    from: '2027-10-02T00:00+10:30',
    to: '2027-10-04T12:00+11:00',
    fires: {
      RUN_AFTER_GAP: ['2027-10-02T02:15+10:30', '2027-10-03T02:30+11:00', '2027-10-04T02:15+11:00'],
      SKIP: ['2027-10-02T02:15+10:30', '2027-10-04T02:15+11:00'],
    },
  },
  {
    zone: 'Australia/Lord_Howe',
    change: LH_SPRING,
    cron: '*/30 * * * *',
    hits: 'gap',
    from: '2027-10-03T01:00+10:30',
    to: '2027-10-03T03:30+11:00',
    fires: {
      RUN_AFTER_GAP: [
        '2027-10-03T01:00+10:30',
        '2027-10-03T01:30+10:30',
        '2027-10-03T02:30+11:00',
        '2027-10-03T03:00+11:00',
      ],
      SKIP: [
        '2027-10-03T01:00+10:30',
        '2027-10-03T01:30+10:30',
        '2027-10-03T02:30+11:00',
        '2027-10-03T03:00+11:00',
      ],
    },
  },
  {
    zone: 'Australia/Lord_Howe',
    change: LH_SPRING,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-10-02T00:00+10:30',
    to: '2027-10-04T00:00+11:00',
    fires: { every: ['2027-10-02T12:00+10:30', '2027-10-03T12:00+11:00'] },
  },
  {
    zone: 'Australia/Lord_Howe',
    change: LH_AUTUMN,
    cron: '45 1 * * *',
    hits: 'overlap',
    from: '2027-04-03T00:00+11:00',
    to: '2027-04-05T12:00+10:30',
    fires: {
      FIRST: ['2027-04-03T01:45+11:00', '2027-04-04T01:45+11:00', '2027-04-05T01:45+10:30'],
      BOTH: [
        '2027-04-03T01:45+11:00',
        '2027-04-04T01:45+11:00',
        '2027-04-04T01:45+10:30',
        '2027-04-05T01:45+10:30',
      ],
      default: 'FIRST',
    },
  },
  {
    zone: 'Australia/Lord_Howe',
    change: LH_AUTUMN,
    cron: '*/30 * * * *',
    hits: 'overlap',
    from: '2027-04-04T01:00+11:00',
    to: '2027-04-04T02:30+10:30',
    fires: {
      FIRST: ['2027-04-04T01:00+11:00', '2027-04-04T01:30+11:00', '2027-04-04T02:00+10:30'],
      BOTH: [
        '2027-04-04T01:00+11:00',
        '2027-04-04T01:30+11:00',
        '2027-04-04T01:30+10:30',
        '2027-04-04T02:00+10:30',
      ],
      default: 'BOTH',
    },
  },
  {
    zone: 'Australia/Lord_Howe',
    change: LH_AUTUMN,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-04-03T00:00+11:00',
    to: '2027-04-05T00:00+10:30',
    fires: { every: ['2027-04-03T12:00+11:00', '2027-04-04T12:00+10:30'] },
  },
  // America/Santiago: changes at midnight
  {
    zone: 'America/Santiago',
    change: SCL_SPRING,
    cron: '0 0 * * *',
    hits: 'gap',
    from: '2027-09-03T12:00-04:00',
    to: '2027-09-06T12:00-03:00',
    fires: {
      RUN_AFTER_GAP: ['2027-09-04T00:00-04:00', '2027-09-05T01:00-03:00', '2027-09-06T00:00-03:00'],
      SKIP: ['2027-09-04T00:00-04:00', '2027-09-06T00:00-03:00'],
    },
  },
  {
    zone: 'America/Santiago',
    change: SCL_SPRING,
    cron: '30 0 * * *',
    hits: 'gap',
    from: '2027-09-04T00:00-04:00',
    to: '2027-09-06T12:00-03:00',
    fires: {
      RUN_AFTER_GAP: ['2027-09-04T00:30-04:00', '2027-09-05T01:00-03:00', '2027-09-06T00:30-03:00'],
      SKIP: ['2027-09-04T00:30-04:00', '2027-09-06T00:30-03:00'],
    },
  },
  {
    zone: 'America/Santiago',
    change: SCL_SPRING,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-09-04T00:00-04:00',
    to: '2027-09-06T00:00-03:00',
    fires: { every: ['2027-09-04T12:00-04:00', '2027-09-05T12:00-03:00'] },
  },
  {
    zone: 'America/Santiago',
    change: SCL_AUTUMN,
    cron: '30 23 * * *',
    hits: 'overlap',
    from: '2027-04-02T12:00-03:00',
    to: '2027-04-05T00:00-04:00',
    fires: {
      FIRST: ['2027-04-02T23:30-03:00', '2027-04-03T23:30-03:00', '2027-04-04T23:30-04:00'],
      BOTH: [
        '2027-04-02T23:30-03:00',
        '2027-04-03T23:30-03:00',
        '2027-04-03T23:30-04:00',
        '2027-04-04T23:30-04:00',
      ],
      default: 'FIRST',
    },
  },
  {
    zone: 'America/Santiago',
    change: SCL_AUTUMN,
    cron: '0 * * * *',
    hits: 'overlap',
    from: '2027-04-03T22:00-03:00',
    to: '2027-04-04T01:00-04:00',
    fires: {
      FIRST: ['2027-04-03T22:00-03:00', '2027-04-03T23:00-03:00', '2027-04-04T00:00-04:00'],
      BOTH: [
        '2027-04-03T22:00-03:00',
        '2027-04-03T23:00-03:00',
        '2027-04-03T23:00-04:00',
        '2027-04-04T00:00-04:00',
      ],
      default: 'BOTH',
    },
  },
  {
    zone: 'America/Santiago',
    change: SCL_AUTUMN,
    cron: '0 12 * * *',
    hits: 'neither',
    from: '2027-04-03T00:00-03:00',
    to: '2027-04-05T00:00-04:00',
    fires: { every: ['2027-04-03T12:00-03:00', '2027-04-04T12:00-04:00'] },
  },
  // Asia/Tehran: the times its former changes hit run as on any day
  {
    zone: 'Asia/Tehran',
    change: THR_SPRING,
    cron: '30 0 * * *',
    hits: 'neither',
    from: '2027-03-21T00:00+03:30',
    to: '2027-03-23T12:00+03:30',
    fires: { every: ['2027-03-21T00:30+03:30', '2027-03-22T00:30+03:30', '2027-03-23T00:30+03:30'] },
  },
  {
    zone: 'Asia/Tehran',
    change: THR_AUTUMN,
    cron: '30 23 * * *',
    hits: 'neither',
    from: '2027-09-20T12:00+03:30',
    to: '2027-09-22T12:00+03:30',
    fires: { every: ['2027-09-20T23:30+03:30', '2027-09-21T23:30+03:30'] },
  },
  // Pacific/Apia: a whole day skipped
  {
    zone: 'Pacific/Apia',
    change: APIA_DAY,
    cron: '0 12 * * *',
    hits: 'gap',
    from: '2011-12-28T00:00-10:00',
    to: '2012-01-01T00:00+14:00',
    fires: {
      RUN_AFTER_GAP: [
        '2011-12-28T12:00-10:00',
        '2011-12-29T12:00-10:00',
        '2011-12-31T00:00+14:00',
        '2011-12-31T12:00+14:00',
      ],
      SKIP: ['2011-12-28T12:00-10:00', '2011-12-29T12:00-10:00', '2011-12-31T12:00+14:00'],
    },
  },
  {
    zone: 'Pacific/Apia',
    change: APIA_DAY,
    cron: '0 12 * * 1',
    hits: 'neither',
    from: '2011-12-25T00:00-10:00',
    to: '2012-01-03T00:00+14:00',
    fires: { every: ['2011-12-26T12:00-10:00', '2012-01-02T12:00+14:00'] },
  },
  {
    zone: 'Pacific/Apia',
    change: APIA_AUTUMN,
    cron: '30 3 * * *',
    hits: 'overlap',
    from: '2012-03-31T00:00+14:00',
    to: '2012-04-02T12:00+13:00',
    fires: {
      FIRST: ['2012-03-31T03:30+14:00', '2012-04-01T03:30+14:00', '2012-04-02T03:30+13:00'],
      BOTH: [
        '2012-03-31T03:30+14:00',
        '2012-04-01T03:30+14:00',
        '2012-04-01T03:30+13:00',
        '2012-04-02T03:30+13:00',
      ],
      default: 'FIRST',
    },
  },
];

/** The fires of a row under a DST policy (overlap undefined: the default). */
export function expectedFires(
  row: MatrixRow,
  gap: 'SKIP' | 'RUN_AFTER_GAP',
  overlap: 'FIRST' | 'BOTH' | null,
): string[] {
  const f = row.fires;
  if ('every' in f) return f.every;
  if ('SKIP' in f) return f[gap];
  return f[overlap ?? f.default];
}

function short(local: string): string {
  // 2027-03-28T03:00+02:00 → 03-28 03:00 (+02:00)
  return `${local.slice(5, 10)} ${local.slice(11, 16)} (${local.slice(16)})`;
}

/** The matrix as docs/scheduling.md shows it. */
export function renderDstMatrix(): string {
  const lines = [
    '| Zone | Change | Cron | Hits | Policy | Fire times (local, with the offset) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of DST_MATRIX) {
    const cells = (policy: string, fires: string[]) =>
      `| ${row.zone} | ${row.change} | \`${row.cron}\` | ${row.hits} | ${policy} | ${fires.map(short).join(', ')} |`;
    const f = row.fires;
    if ('every' in f) lines.push(cells('any', f.every));
    else if ('SKIP' in f) {
      lines.push(cells('`RUN_AFTER_GAP` (default)', f.RUN_AFTER_GAP), cells('`SKIP`', f.SKIP));
    } else {
      lines.push(
        cells(`\`FIRST\`${f.default === 'FIRST' ? ' (default)' : ''}`, f.FIRST),
        cells(`\`BOTH\`${f.default === 'BOTH' ? ' (default)' : ''}`, f.BOTH),
      );
    }
  }
  return lines.join('\n') + '\n';
}

export const MATRIX_BEGIN =
  '<!-- dst-matrix:begin (generated by `npm run docs:dst` from test/domain/dst-matrix.ts) -->';
export const MATRIX_END = '<!-- dst-matrix:end -->';

/** A document with its matrix section replaced by the current one. */
export function withMatrix(doc: string): string {
  const begin = doc.indexOf(MATRIX_BEGIN);
  const end = doc.indexOf(MATRIX_END);
  if (begin < 0 || end < begin) throw new Error('docs/scheduling.md has no dst-matrix markers');
  return `${doc.slice(0, begin + MATRIX_BEGIN.length)}\n\n${renderDstMatrix()}\n${doc.slice(end)}`;
}
