import type { ButtonHTMLAttributes, ReactNode } from 'react';

export type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost';

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: ButtonVariant;
  /** Disables the button and says so to assistive technology while an action runs. */
  pending?: boolean;
  children: ReactNode;
}

/** A native button (keyboard and focus for free); `type="button"` unless told otherwise. */
export function Button({
  variant = 'secondary',
  pending = false,
  className,
  children,
  ...rest
}: ButtonProps) {
  return (
    <button
      type="button"
      {...rest}
      className={['btn', `btn-${variant}`, className].filter(Boolean).join(' ')}
      disabled={rest.disabled || pending}
      aria-busy={pending || undefined}
    >
      {children}
    </button>
  );
}
