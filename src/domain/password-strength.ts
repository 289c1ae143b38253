/**
 * Password strength: a new password must score at least PASSWORD_MIN_SCORE (3 of 4, "safely
 * unguessable: moderate protection from an offline slow-hash scenario", about 10^8 guesses) on
 * zxcvbn (the maintained TypeScript port, @zxcvbn-ts, with its common and English dictionaries),
 * on top of the 10-character length rule in ./user-input.ts. The estimator looks for dictionary
 * words, names, keyboard walks, sequences, repeats, dates and l33t substitutions, so `password`,
 * `abcdefgh`, eight spaces and `Summer2024!` fail while a few unrelated words pass.
 *
 * The refusal carries the estimator's own feedback (warning and suggestions) so the user learns
 * what to change. Pure: the dictionaries are in memory, loaded on first use (~100 ms, once).
 * "On first use" includes the import: the packages (CommonJS) decompress their dictionaries when
 * loaded, so they are required at the first check, not at start (server only; the dashboard has
 * its own rule, web/src/lib/password-rule.ts).
 */
import type * as Core from '@zxcvbn-ts/core';
import type * as Common from '@zxcvbn-ts/language-common';
import type * as English from '@zxcvbn-ts/language-en';

// Through process.getBuiltinModule rather than `import … from 'node:module'`: the dashboard's
// typecheck sees this file (through user-input.ts's types) without Node's declarations.
function nodeRequire(): (id: string) => unknown {
  const { createRequire } = (
    globalThis as unknown as { process: { getBuiltinModule(id: 'node:module'): NodeModuleApi } }
  ).process.getBuiltinModule('node:module');
  return createRequire(import.meta.url);
}

interface NodeModuleApi {
  createRequire(url: string): (id: string) => unknown;
}

export const PASSWORD_MIN_SCORE = 3;

let estimator: Core.ZxcvbnFactory | undefined;

function zxcvbn(): Core.ZxcvbnFactory {
  if (estimator) return estimator;
  const require = nodeRequire();
  const { ZxcvbnFactory } = require('@zxcvbn-ts/core') as typeof Core;
  const { adjacencyGraphs, dictionary: commonDictionary } =
    require('@zxcvbn-ts/language-common') as typeof Common;
  const { dictionary: englishDictionary, translations } = require('@zxcvbn-ts/language-en') as typeof English;
  // Bounded work: the check runs on unauthenticated sign-up bodies, and with the defaults a random
  // 24-character password took 534 ms, 128 characters 2 s (the l33t substitution search explodes).
  // With at most 4 substitutions and the first 64 characters scored, the worst seen was ~50 ms,
  // and the verdicts on the test passwords (p@ssw0rd1234, Summer2024!, tr0ub4dor&3xyz…) are unchanged.
  estimator ??= new ZxcvbnFactory({
    translations,
    graphs: adjacencyGraphs,
    dictionary: { ...commonDictionary, ...englishDictionary },
    l33tMaxSubstitutions: 4,
    maxLength: 64,
  });
  return estimator;
}

/**
 * Null when `password` is strong enough, else the message of the refusal (to be reported on the
 * password field). `userInputs`: words of the account (its email) that make a password weaker.
 */
export function passwordWeakness(password: string, userInputs: readonly string[] = []): string | null {
  const result = zxcvbn().check(password, userInputs.flatMap(inputWords));
  if (result.score >= PASSWORD_MIN_SCORE) return null;
  const feedback = [result.feedback.warning, ...result.feedback.suggestions].filter(
    (s): s is string => typeof s === 'string' && s !== '',
  );
  return (
    `is too easy to guess (strength ${result.score} of 4, at least ${PASSWORD_MIN_SCORE} needed)` +
    (feedback.length > 0 ? `: ${feedback.join(' ')}` : '; add more words that are less common')
  );
}

/** An email and its parts ("ann.smith@example.com" → the address, "ann.smith", "ann", "smith", "example"). */
function inputWords(input: string): string[] {
  const [local = '', domain = ''] = input.toLowerCase().split('@');
  const words = [input.toLowerCase(), local, ...local.split(/[^a-z0-9]+/), domain.split('.')[0] ?? ''];
  return [...new Set(words.filter((w) => w.length >= 3))];
}
