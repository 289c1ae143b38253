export {
  Badge,
  JobStatusBadge,
  WorkflowStatusBadge,
  workflowStatusOf,
  WORKFLOW_STATUS_LABEL,
  JOB_STATUS_LABEL,
  JOB_STATUS_TONE,
  BUILD_STATUS_LABEL,
} from './Badge.tsx';
export type { BadgeTone } from './Badge.tsx';
export { Button } from './Button.tsx';
export type { ButtonProps, ButtonVariant } from './Button.tsx';
export { ConfirmDialog, Dialog } from './Dialog.tsx';
export { EmptyState } from './EmptyState.tsx';
export { ErrorMessage } from './ErrorMessage.tsx';
export { Checkbox, FieldShell, Select, TextAreaField, TextField, errorText } from './Field.tsx';
export type { SelectOption } from './Field.tsx';
export { LabelChips, withRequirement } from './LabelChips.tsx';
export { Pagination, useCursorPager } from './Pagination.tsx';
export type { CursorPager } from './Pagination.tsx';
export { Spinner } from './Spinner.tsx';
export { Table } from './Table.tsx';
export type { Column } from './Table.tsx';
