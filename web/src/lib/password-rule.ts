/**
 * The API's password rule (docs/api.md "Passwords", src/domain/user-input.ts; not imported from
 * there, which would bring zod into the first load): 10–128 characters and an estimated strength of
 * at least 3 of 4 (zxcvbn, server side). The dashboard checks the length as you type; the strength
 * only the server judges, and its 400 on the field carries the estimator's advice.
 */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

export const PASSWORD_RULE = `${PASSWORD_MIN} to ${PASSWORD_MAX} characters, hard to guess: a few unrelated words work well; common passwords, sequences and your email do not.`;

/** The length check; null when the length is fine. */
export function passwordLengthIssue(password: string): string | null {
  if (password.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  return null;
}

/**
 * A server message about a field as a sentence next to it: "is too easy to guess (strength 0 of 4,
 * at least 3 needed): This is a commonly used password." → "Too easy to guess (…): This is …".
 */
export function fieldSentence(message: string): string {
  const text = message.replace(/^is /, '');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
