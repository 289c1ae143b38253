/** Validation of account input: registration, login, profile updates and access tokens. */
import { z } from 'zod';

export const NOTIFICATION_PREFERENCES = ['ALL', 'ALERTS', 'NONE'] as const;
export type NotificationPreference = (typeof NOTIFICATION_PREFERENCES)[number];
export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** Trimmed and lower-cased before the format check, so " Ann@Example.COM " is ann@example.com. */
export const EmailSchema = z.string().trim().toLowerCase().max(254).email('must be a valid email address');
export const PasswordSchema = z.string().min(PASSWORD_MIN).max(PASSWORD_MAX);

export const CredentialsSchema = z
  .object({ email: EmailSchema, password: PasswordSchema })
  .strict()
  .meta({ id: 'Credentials' });

/** Login accepts any string password: length rules are for new passwords only. */
export const LoginSchema = z
  .object({ email: EmailSchema, password: z.string().min(1).max(1024) })
  .strict()
  .meta({ id: 'Login' });

export const UserUpdateSchema = z
  .object({
    notification_preference: z.enum(NOTIFICATION_PREFERENCES).optional(),
    current_password: z.string().min(1).max(1024).optional(),
    new_password: PasswordSchema.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.new_password !== undefined && body.current_password === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['current_password'],
        message: 'is required to change the password',
      });
    }
  })
  .meta({ id: 'UserUpdate' });

export const TokenCreateSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
    expires_in_days: z.number().int().min(1).max(365).optional(),
  })
  .strict()
  .meta({ id: 'TokenCreate' });
