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
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en';

export const PASSWORD_MIN_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;

function zxcvbn(): ZxcvbnFactory {
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
