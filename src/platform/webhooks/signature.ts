/**
 * Webhook signatures, Stripe's scheme: `Chronoverse-Signature: t=<unix seconds>,v1=<hex>` where
 * the hex is HMAC-SHA256 keyed with the webhook's secret (its UTF-8 bytes, `whsec_` prefix
 * included) over `<t>.<raw body>`. The timestamp inside the signed text lets receivers refuse
 * replays older than a tolerance (docs/webhooks.md shows a verifier).
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'Chronoverse-Signature';

export function signatureHeader(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
  return `t=${t},v1=${v1}`;
}
