/**
 * The `depends` language of a DAG task (issue 12): a boolean condition over the final results of
 * upstream tasks, such as `(build.succeeded || build.skipped) && !lint.failed`.
 *
 *   expression := or
 *   or         := and ( "||" and )*
 *   and        := not ( "&&" not )*
 *   not        := "!" not | primary
 *   primary    := "(" expression ")" | task "." result
 *   task       := [a-z0-9][a-z0-9_-]*          (the task-name alphabet of dag-definition.ts)
 *   result     := succeeded | failed | skipped | errored | completed
 *
 * Precedence is that of C and JavaScript (`!` over `&&` over `||`), both binary operators
 * associate to the left, and spaces and tabs are allowed between tokens.
 *
 * Why a hand-written recursive-descent parser and not a library: the language has five tokens and
 * four rules, every error must give the 1-based column and say in plain words what was expected,
 * and the module must stay pure and small (the dashboard's editor runs it as you type). A parser
 * generator or a general expression library (jsep, expr-eval) would accept a much larger language
 * that we would then have to walk and reject node by node, with its own error texts.
 *
 * Results: `succeeded`, `failed`, `skipped` and `errored` each match the one final state of that
 * name; `completed` matches any final state (CANCELED included, which no other result matches).
 */

export const TASK_RESULTS = ['succeeded', 'failed', 'skipped', 'errored', 'completed'] as const;
export type TaskResult = (typeof TASK_RESULTS)[number];

/** The states a task ends in; a condition is evaluated only once all its tasks are in one. */
export const FINAL_TASK_STATES = ['SUCCEEDED', 'FAILED', 'SKIPPED', 'ERRORED', 'CANCELED'] as const;
export type FinalTaskState = (typeof FINAL_TASK_STATES)[number];

/** Longest `depends` text accepted: far beyond any hand-written condition over 500 tasks' names. */
export const DEPENDS_MAX_LENGTH = 4096;
/** Deepest nesting of parentheses and `!`: keeps the recursive parser and evaluator off the stack limit. */
export const DEPENDS_MAX_DEPTH = 64;

export type DependsExpression =
  | {
      kind: 'result';
      task: string;
      result: TaskResult;
      /**
       * 1-based column of the task name in the text parsed, for errors found later (unknown task);
       * 0 when the expression was not parsed from text (`allSucceeded`, for `depends_on`).
       */
      column: number;
    }
  | { kind: 'not'; operand: DependsExpression }
  | { kind: 'and'; left: DependsExpression; right: DependsExpression }
  | { kind: 'or'; left: DependsExpression; right: DependsExpression };

export interface DependsSyntaxError {
  /** 1-based column of the problem; one past the end when the text stopped too early. */
  column: number;
  /** A plain sentence ending with the column, ready for a field issue. */
  message: string;
}

export type ParsedDepends =
  { ok: true; expression: DependsExpression } | { ok: false; error: DependsSyntaxError };

type Token =
  | { type: 'word'; text: string; column: number }
  | { type: 'dot' | 'and' | 'or' | 'not' | 'open' | 'close'; column: number }
  | { type: 'end'; column: number };

const EXPECTED_RESULT = 'a task result such as build.succeeded';
const RESULTS_LIST = 'succeeded, failed, skipped, errored or completed';

/** Thrown inside the parser only, caught by parseDepends: a single exit for every syntax error. */
class SyntaxProblem {
  readonly column: number;
  readonly text: string;
  constructor(column: number, text: string) {
    this.column = column;
    this.text = text;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const column = i + 1;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (/[A-Za-z0-9_-]/.test(c)) {
      // Upper case is read as part of a word so that the error can quote the whole word.
      let end = i;
      while (end < text.length && /[A-Za-z0-9_-]/.test(text[end]!)) end++;
      tokens.push({ type: 'word', text: text.slice(i, end), column });
      i = end;
    } else if (c === '.') {
      tokens.push({ type: 'dot', column });
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ type: c === '(' ? 'open' : 'close', column });
      i++;
    } else if (c === '!') {
      tokens.push({ type: 'not', column });
      i++;
    } else if ((c === '&' || c === '|') && text[i + 1] === c) {
      tokens.push({ type: c === '&' ? 'and' : 'or', column });
      i += 2;
    } else if (c === '&' || c === '|') {
      throw new SyntaxProblem(column, `'${c}' must be doubled ('${c}${c}')`);
    } else {
      const shown = c === '\n' || c === '\r' ? 'a line break' : `'${c}'`;
      throw new SyntaxProblem(
        column,
        `unexpected character ${shown}; use task results, &&, ||, ! and parentheses`,
      );
    }
  }
  tokens.push({ type: 'end', column: text.length + 1 });
  return tokens;
}

const TASK_NAME = /^[a-z0-9][a-z0-9_-]*$/;

class Parser {
  private position = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parseAll(): DependsExpression {
    const expression = this.or(0);
    const next = this.peek();
    if (next.type !== 'end') {
      throw new SyntaxProblem(
        next.column,
        next.type === 'close' ? "unmatched ')'" : `expected && or || or the end, found ${describe(next)}`,
      );
    }
    return expression;
  }

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private take(): Token {
    return this.tokens[this.position++]!;
  }

  private or(depth: number): DependsExpression {
    let left = this.and(depth);
    while (this.peek().type === 'or') {
      this.take();
      left = { kind: 'or', left, right: this.and(depth) };
    }
    return left;
  }

  private and(depth: number): DependsExpression {
    let left = this.not(depth);
    while (this.peek().type === 'and') {
      this.take();
      left = { kind: 'and', left, right: this.not(depth) };
    }
    return left;
  }

  private not(depth: number): DependsExpression {
    const token = this.peek();
    if (token.type === 'not' || token.type === 'open') {
      if (depth >= DEPENDS_MAX_DEPTH) {
        throw new SyntaxProblem(token.column, `nests deeper than ${DEPENDS_MAX_DEPTH} levels`);
      }
    }
    if (token.type === 'not') {
      this.take();
      return { kind: 'not', operand: this.not(depth + 1) };
    }
    return this.primary(depth);
  }

  private primary(depth: number): DependsExpression {
    const token = this.take();
    if (token.type === 'open') {
      const inner = this.or(depth + 1);
      const close = this.take();
      if (close.type !== 'close') {
        throw new SyntaxProblem(close.column, `expected ')' or an operator, found ${describe(close)}`);
      }
      return inner;
    }
    if (token.type !== 'word') {
      throw new SyntaxProblem(token.column, `expected ${EXPECTED_RESULT}, found ${describe(token)}`);
    }
    if (!TASK_NAME.test(token.text)) {
      throw new SyntaxProblem(
        token.column,
        `'${token.text}' is not a task name (lower-case letters, digits, '-' and '_', starting with a letter or digit)`,
      );
    }
    const dot = this.take();
    if (dot.type !== 'dot') {
      throw new SyntaxProblem(
        dot.column,
        `expected '.' and a result after '${token.text}' (such as ${token.text}.succeeded), found ${describe(dot)}`,
      );
    }
    const result = this.take();
    if (result.type !== 'word') {
      throw new SyntaxProblem(
        result.column,
        `expected a result (${RESULTS_LIST}), found ${describe(result)}`,
      );
    }
    if (!(TASK_RESULTS as readonly string[]).includes(result.text)) {
      throw new SyntaxProblem(result.column, `'${result.text}' is not a result; use ${RESULTS_LIST}`);
    }
    return { kind: 'result', task: token.text, result: result.text as TaskResult, column: token.column };
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'word':
      return `'${token.text}'`;
    case 'dot':
      return "'.'";
    case 'and':
      return "'&&'";
    case 'or':
      return "'||'";
    case 'not':
      return "'!'";
    case 'open':
      return "'('";
    case 'close':
      return "')'";
    case 'end':
      return 'the end';
  }
}

/** Parses a `depends` text; an error names the 1-based column (see the grammar at the top). */
export function parseDepends(text: string): ParsedDepends {
  if (text.length > DEPENDS_MAX_LENGTH) {
    return syntaxError(DEPENDS_MAX_LENGTH + 1, `is longer than ${DEPENDS_MAX_LENGTH} characters`);
  }
  if (text.trim() === '') return syntaxError(1, `is empty; expected ${EXPECTED_RESULT}`);
  try {
    return { ok: true, expression: new Parser(tokenize(text)).parseAll() };
  } catch (err) {
    if (err instanceof SyntaxProblem) return syntaxError(err.column, err.text);
    throw err;
  }
}

function syntaxError(column: number, text: string): ParsedDepends {
  return { ok: false, error: { column, message: `${text} at column ${column}` } };
}

/** The task references of an expression in text order, each with its column (repeats kept). */
export function dependsReferences(expression: DependsExpression): { task: string; column: number }[] {
  switch (expression.kind) {
    case 'result':
      return [{ task: expression.task, column: expression.column }];
    case 'not':
      return dependsReferences(expression.operand);
    case 'and':
    case 'or':
      return [...dependsReferences(expression.left), ...dependsReferences(expression.right)];
  }
}

/** The distinct task names an expression refers to, in order of first appearance. */
export function dependsTasks(expression: DependsExpression): string[] {
  return [...new Set(dependsReferences(expression).map((r) => r.task))];
}

/**
 * The expression's value once every task it names is final. A task missing from `states` is a
 * caller's bug (the resolver waits for all of them), so it throws rather than guessing a value.
 */
export function evaluateDepends(
  expression: DependsExpression,
  states: ReadonlyMap<string, FinalTaskState>,
): boolean {
  switch (expression.kind) {
    case 'result': {
      const state = states.get(expression.task);
      if (state === undefined) {
        throw new RangeError(`evaluateDepends: task '${expression.task}' has no final state`);
      }
      return resultMatches(expression.result, state);
    }
    case 'not':
      return !evaluateDepends(expression.operand, states);
    case 'and':
      return evaluateDepends(expression.left, states) && evaluateDepends(expression.right, states);
    case 'or':
      return evaluateDepends(expression.left, states) || evaluateDepends(expression.right, states);
  }
}

/** Whether a final state is the result named (`completed`: any final state). */
export function resultMatches(result: TaskResult, state: FinalTaskState): boolean {
  return result === 'completed' || result.toUpperCase() === state;
}

/**
 * The expression as text, with only the parentheses its structure needs: parsing the text gives
 * back the same expression (columns aside). Used to show `depends_on` as the condition it means.
 */
export function printDepends(expression: DependsExpression): string {
  switch (expression.kind) {
    case 'result':
      return `${expression.task}.${expression.result}`;
    case 'not': {
      const inner = printDepends(expression.operand);
      return expression.operand.kind === 'and' || expression.operand.kind === 'or'
        ? `!(${inner})`
        : `!${inner}`;
    }
    case 'and':
      // Left-associative: a right operand that is itself an `and` (or an `or`) needs parentheses.
      return `${wrapIf(expression.left, ['or'])} && ${wrapIf(expression.right, ['or', 'and'])}`;
    case 'or':
      return `${printDepends(expression.left)} || ${wrapIf(expression.right, ['or'])}`;
  }
}

function wrapIf(expression: DependsExpression, kinds: DependsExpression['kind'][]): string {
  const text = printDepends(expression);
  return kinds.includes(expression.kind) ? `(${text})` : text;
}

/** `a.succeeded && b.succeeded && …`: the condition `depends_on: [a, b, …]` stands for. */
export function allSucceeded(tasks: readonly string[]): DependsExpression | null {
  let expression: DependsExpression | null = null;
  for (const task of tasks) {
    const ref: DependsExpression = { kind: 'result', task, result: 'succeeded', column: 0 };
    expression = expression === null ? ref : { kind: 'and', left: expression, right: ref };
  }
  return expression;
}
