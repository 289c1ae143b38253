import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import {
  allSucceeded,
  DEPENDS_MAX_DEPTH,
  DEPENDS_MAX_LENGTH,
  dependsReferences,
  dependsTasks,
  evaluateDepends,
  FINAL_TASK_STATES,
  parseDepends,
  printDepends,
  resultMatches,
  TASK_RESULTS,
  type DependsExpression,
  type FinalTaskState,
} from './dag-expression.ts';

/** `n` cases, or 1/20 of them under mutation testing (see src/domain/cron-syntax.test.ts). */
function runs(n: number): number {
  return inject('fewerPropertyRuns') === true ? Math.ceil(n / 20) : n;
}

function parsed(text: string): DependsExpression {
  const result = parseDepends(text);
  if (!result.ok) throw new Error(`did not parse: ${result.error.message}`);
  return result.expression;
}

/** The expression without source columns, for structural comparison. */
function shape(expression: DependsExpression): unknown {
  switch (expression.kind) {
    case 'result':
      return `${expression.task}.${expression.result}`;
    case 'not':
      return { not: shape(expression.operand) };
    case 'and':
      return { and: [shape(expression.left), shape(expression.right)] };
    case 'or':
      return { or: [shape(expression.left), shape(expression.right)] };
  }
}

describe('parseDepends: the language', () => {
  it('reads the example of the issue with C precedence', () => {
    expect(shape(parsed('(build.succeeded || build.skipped) && !lint.failed'))).toEqual({
      and: [{ or: ['build.succeeded', 'build.skipped'] }, { not: 'lint.failed' }],
    });
  });

  it('binds ! tighter than && and && tighter than ||', () => {
    expect(shape(parsed('a.failed || b.succeeded && !c.skipped'))).toEqual({
      or: ['a.failed', { and: ['b.succeeded', { not: 'c.skipped' }] }],
    });
  });

  it('associates && and || to the left', () => {
    expect(shape(parsed('a.failed && b.failed && c.failed'))).toEqual({
      and: [{ and: ['a.failed', 'b.failed'] }, 'c.failed'],
    });
    expect(shape(parsed('a.failed || b.failed || c.failed'))).toEqual({
      or: [{ or: ['a.failed', 'b.failed'] }, 'c.failed'],
    });
  });

  it('accepts every result, names with - and _, tabs and no spaces at all', () => {
    for (const result of TASK_RESULTS)
      expect(shape(parsed(`my-task_2.${result}`))).toBe(`my-task_2.${result}`);
    expect(shape(parsed('\t!!(a.errored)&&b.completed '))).toEqual({
      and: [{ not: { not: 'a.errored' } }, 'b.completed'],
    });
  });

  it('keeps the column of every task name', () => {
    expect(dependsReferences(parsed('(build.succeeded || build.skipped) && !lint.failed'))).toEqual([
      { task: 'build', column: 2 },
      { task: 'build', column: 21 },
      { task: 'lint', column: 40 },
    ]);
    expect(dependsTasks(parsed('(build.succeeded || build.skipped) && !lint.failed'))).toEqual([
      'build',
      'lint',
    ]);
  });
});

describe('parseDepends: errors give the column and say what was expected', () => {
  it.each([
    ['', 'is empty; expected a task result such as build.succeeded at column 1'],
    ['   ', 'is empty; expected a task result such as build.succeeded at column 1'],
    [
      'build.',
      'expected a result (succeeded, failed, skipped, errored or completed), found the end at column 7',
    ],
    ['a.failed && ', 'expected a task result such as build.succeeded, found the end at column 13'],
    ['a.failed && || b.failed', "expected a task result such as build.succeeded, found '||' at column 13"],
    ['build', "expected '.' and a result after 'build' (such as build.succeeded), found the end at column 6"],
    ['build.ok', "'ok' is not a result; use succeeded, failed, skipped, errored or completed at column 7"],
    [
      'build.Succeeded',
      "'Succeeded' is not a result; use succeeded, failed, skipped, errored or completed at column 7",
    ],
    [
      'Build.succeeded',
      "'Build' is not a task name (lower-case letters, digits, '-' and '_', starting with a letter or digit) at column 1",
    ],
    [
      '-a.failed',
      "'-a' is not a task name (lower-case letters, digits, '-' and '_', starting with a letter or digit) at column 1",
    ],
    ['a.failed & b.failed', "'&' must be doubled ('&&') at column 10"],
    ['a.failed | b.failed', "'|' must be doubled ('||') at column 10"],
    ['a.failed and b.failed', "expected && or || or the end, found 'and' at column 10"],
    ['(a.failed', "expected ')' or an operator, found the end at column 10"],
    ['a.failed)', "unmatched ')' at column 9"],
    ['()', "expected a task result such as build.succeeded, found ')' at column 2"],
    [
      'a.failed == b.failed',
      "unexpected character '='; use task results, &&, ||, ! and parentheses at column 10",
    ],
    [
      'a.failed\n|| b.failed',
      'unexpected character a line break; use task results, &&, ||, ! and parentheses at column 9',
    ],
    ['a.failed.succeeded', "expected && or || or the end, found '.' at column 9"],
  ])('%j → %s', (text, message) => {
    const result = parseDepends(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toBe(message);
      expect(result.error.message.endsWith(`at column ${result.error.column}`)).toBe(true);
    }
  });

  it('refuses texts longer than the limit and nesting deeper than the limit', () => {
    const long = parseDepends('a.failed || '.repeat(DEPENDS_MAX_LENGTH));
    expect(long).toEqual({
      ok: false,
      error: {
        column: DEPENDS_MAX_LENGTH + 1,
        message: `is longer than ${DEPENDS_MAX_LENGTH} characters at column ${DEPENDS_MAX_LENGTH + 1}`,
      },
    });
    expect(parseDepends(`${'('.repeat(DEPENDS_MAX_DEPTH)}a.failed${')'.repeat(DEPENDS_MAX_DEPTH)}`).ok).toBe(
      true,
    );
    const deep = parseDepends(`${'!'.repeat(DEPENDS_MAX_DEPTH + 1)}a.failed`);
    expect(deep).toEqual({
      ok: false,
      error: {
        column: DEPENDS_MAX_DEPTH + 1,
        message: `nests deeper than ${DEPENDS_MAX_DEPTH} levels at column ${DEPENDS_MAX_DEPTH + 1}`,
      },
    });
  });
});

describe('evaluateDepends', () => {
  const states = new Map<string, FinalTaskState>([
    ['build', 'SKIPPED'],
    ['lint', 'SUCCEEDED'],
    ['test', 'FAILED'],
    ['push', 'ERRORED'],
    ['stop', 'CANCELED'],
  ]);
  it.each([
    ['(build.succeeded || build.skipped) && !lint.failed', true],
    ['build.succeeded', false],
    ['test.failed && push.errored', true],
    ['test.errored || push.failed', false],
    ['stop.completed && build.completed && lint.completed', true],
    ['stop.failed || stop.errored || stop.succeeded || stop.skipped', false],
    ['!(lint.succeeded && test.failed)', false],
  ])('%s → %s', (text, value) => {
    expect(evaluateDepends(parsed(text), states)).toBe(value);
  });

  it('throws when a named task has no final state (the resolver must wait for it)', () => {
    expect(() => evaluateDepends(parsed('ghost.failed'), states)).toThrow(RangeError);
  });

  it('matches results to states: each its own, completed every one', () => {
    for (const result of TASK_RESULTS) {
      for (const state of FINAL_TASK_STATES) {
        expect(resultMatches(result, state)).toBe(
          result === 'completed' || `${result.toUpperCase()}` === state,
        );
      }
    }
  });
});

describe('allSucceeded: the meaning of depends_on', () => {
  it('is null for no task and a chain of && otherwise', () => {
    expect(allSucceeded([])).toBeNull();
    expect(printDepends(allSucceeded(['a', 'b', 'c'])!)).toBe('a.succeeded && b.succeeded && c.succeeded');
  });
});

// ─── properties ─────────────────────────────────────────────────────────────────────────────

const taskName = fc.constantFrom('a', 'b', 'build', 'lint-2', 'x_y', '0');
const expressionArb: fc.Arbitrary<DependsExpression> = fc.letrec<{ node: DependsExpression }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 6, depthSize: 'small' },
    fc.record({
      kind: fc.constant('result' as const),
      task: taskName,
      result: fc.constantFrom(...TASK_RESULTS),
      column: fc.constant(0),
    }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('node') }),
    fc.record({ kind: fc.constant('and' as const), left: tie('node'), right: tie('node') }),
    fc.record({ kind: fc.constant('or' as const), left: tie('node'), right: tie('node') }),
  ),
})).node;

/**
 * The reference evaluator: the text itself, run by JavaScript. The language's operators and
 * precedence are JavaScript's, so replacing each `task.result` with `true`/`false` gives a
 * JavaScript expression with the same value. It shares no code with the parser or the evaluator.
 */
function javascriptValue(text: string, states: ReadonlyMap<string, FinalTaskState>): boolean {
  const js = text.replace(/([a-z0-9_-]+)\.([a-z]+)/g, (_all, task: string, result: string) => {
    const state = states.get(task)!;
    return String(result === 'completed' || state === result.toUpperCase());
  });
  return new Function(`return (${js});`)() as boolean;
}

/** Prints with redundant parentheses and spaces at random, to exercise more of the parser. */
function noisyPrint(expression: DependsExpression, noise: () => boolean): string {
  const pad = () => (noise() ? ' \t ' : noise() ? '' : ' ');
  const wrap = (text: string) => (noise() ? `(${pad()}${text}${pad()})` : text);
  switch (expression.kind) {
    case 'result':
      return wrap(`${expression.task}.${expression.result}`);
    case 'not':
      return wrap(`!${pad()}(${noisyPrint(expression.operand, noise)})`);
    case 'and':
    case 'or': {
      const op = expression.kind === 'and' ? '&&' : '||';
      return wrap(
        `(${noisyPrint(expression.left, noise)})${pad()}${op}${pad()}(${noisyPrint(expression.right, noise)})`,
      );
    }
  }
}

const statesArb = fc
  .tuple(...['a', 'b', 'build', 'lint-2', 'x_y', '0'].map(() => fc.constantFrom(...FINAL_TASK_STATES)))
  .map(
    (picked) =>
      new Map<string, FinalTaskState>(
        ['a', 'b', 'build', 'lint-2', 'x_y', '0'].map((t, i) => [t, picked[i]!]),
      ),
  );

describe('parseDepends and printDepends (properties)', () => {
  it('printing then parsing gives back the same expression', () => {
    fc.assert(
      fc.property(expressionArb, (expression) => {
        expect(shape(parsed(printDepends(expression)))).toEqual(shape(expression));
      }),
      { numRuns: runs(5_000) },
    );
  });

  it('redundant parentheses and spaces do not change the expression', () => {
    fc.assert(
      fc.property(expressionArb, fc.infiniteStream(fc.boolean()), (expression, coins) => {
        const text = noisyPrint(expression, () => coins.next().value as boolean);
        fc.pre(text.length <= DEPENDS_MAX_LENGTH);
        const result = parseDepends(text);
        // Noise may nest past the depth limit; that is the only acceptable refusal.
        if (!result.ok) expect(result.error.message).toMatch(/^nests deeper than/);
        else expect(shape(result.expression)).toEqual(shape(expression));
      }),
      { numRuns: runs(3_000) },
    );
  });

  it('evaluation agrees with JavaScript evaluating the same text', () => {
    fc.assert(
      fc.property(expressionArb, statesArb, (expression, states) => {
        const text = printDepends(expression);
        expect(evaluateDepends(parsed(text), states)).toBe(javascriptValue(text, states));
      }),
      { numRuns: runs(5_000) },
    );
  });

  it('never throws on any text, and an error column lies within the text or one past it', () => {
    const alphabet = fc.constantFrom(...'ab.()!&| \tsucedfailkiprotm-_Z='.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 40 })), (text) => {
        const result = parseDepends(text);
        if (!result.ok) {
          expect(result.error.column).toBeGreaterThanOrEqual(1);
          expect(result.error.column).toBeLessThanOrEqual(text.length + 1);
        }
      }),
      { numRuns: runs(10_000) },
    );
  });
});
