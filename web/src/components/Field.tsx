/**
 * Labelled form controls with a description and an error slot. The error is announced (role
 * "alert" is avoided: it would interrupt on every keystroke; aria-describedby + aria-invalid
 * instead) and shown next to the control it concerns.
 */
import {
  useId,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from 'react';

export interface FieldShellProps {
  label: ReactNode;
  description?: ReactNode;
  /** One message or several (server errors may list more than one per field). */
  error?: string | string[] | null;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
  className?: string;
}

export function errorText(error: string | string[] | null | undefined): string | null {
  if (!error) return null;
  if (Array.isArray(error)) return error.length > 0 ? error.join('; ') : null;
  return error;
}

/** The label/description/error layout around any control (`children` renders the control). */
export function FieldShell({ label, description, error, children, className }: FieldShellProps) {
  const id = useId();
  const message = errorText(error);
  const descriptionId = description ? `${id}-description` : undefined;
  const errorId = message ? `${id}-error` : undefined;
  const describedBy = [descriptionId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={['field', message ? 'field-invalid' : '', className].filter(Boolean).join(' ')}>
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      {children({ id, describedBy, invalid: message !== null })}
      {description && (
        <p id={descriptionId} className="field-description">
          {description}
        </p>
      )}
      {message && (
        <p id={errorId} className="field-error">
          {message}
        </p>
      )}
    </div>
  );
}

type Common = { label: ReactNode; description?: ReactNode; error?: string | string[] | null };

export type TextFieldProps = Common & Omit<InputHTMLAttributes<HTMLInputElement>, 'id'>;

export function TextField({ label, description, error, className, ...input }: TextFieldProps) {
  return (
    <FieldShell label={label} description={description} error={error} className={className}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          className="input"
          aria-invalid={invalid || undefined}
          aria-describedby={describedBy}
          {...input}
        />
      )}
    </FieldShell>
  );
}

export type TextAreaFieldProps = Common & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'>;

export function TextAreaField({ label, description, error, className, ...textarea }: TextAreaFieldProps) {
  return (
    <FieldShell label={label} description={description} error={error} className={className}>
      {({ id, describedBy, invalid }) => (
        <textarea
          id={id}
          className="input textarea"
          aria-invalid={invalid || undefined}
          aria-describedby={describedBy}
          {...textarea}
        />
      )}
    </FieldShell>
  );
}

export interface SelectOption {
  value: string;
  label: string;
}

export type SelectProps = Common &
  Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id'> & { options: readonly SelectOption[] };

/** A native select: fully keyboard operable and announced by every screen reader. */
export function Select({ label, description, error, className, options, ...select }: SelectProps) {
  return (
    <FieldShell label={label} description={description} error={error} className={className}>
      {({ id, describedBy, invalid }) => (
        <select
          id={id}
          className="input select"
          aria-invalid={invalid || undefined}
          aria-describedby={describedBy}
          {...select}
        >
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </FieldShell>
  );
}

export function Checkbox({
  label,
  description,
  ...input
}: { label: ReactNode; description?: ReactNode } & Omit<
  InputHTMLAttributes<HTMLInputElement>,
  'type' | 'id'
>) {
  const id = useId();
  return (
    <div className="field field-checkbox">
      <input id={id} type="checkbox" aria-describedby={description ? `${id}-d` : undefined} {...input} />
      <label htmlFor={id}>{label}</label>
      {description && (
        <p id={`${id}-d`} className="field-description">
          {description}
        </p>
      )}
    </div>
  );
}
