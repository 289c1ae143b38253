import { useMemo } from 'react';
import { useNavigate, useParams } from 'react-router';
import { useUpdateWorkflow, useWorkflow } from '../../api/workflows.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { formFromWorkflow } from '../../features/workflow-form/form-state.ts';
import { WorkflowForm } from '../../features/workflow-form/WorkflowForm.tsx';
import { newIdempotencyKey } from '../../lib/format.ts';

export default function WorkflowEditPage() {
  const { workflowId = '' } = useParams();
  // No polling while editing: the form starts from one snapshot.
  const workflow = useWorkflow(workflowId, { refetchInterval: false });
  const update = useUpdateWorkflow(workflowId);
  const navigate = useNavigate();
  const initial = useMemo(() => (workflow.data ? formFromWorkflow(workflow.data) : null), [workflow.data]);
  if (workflow.isPending) return <Spinner label="Loading the workflow…" />;
  if (workflow.isError || !initial)
    return <ErrorMessage error={workflow.error} title="The workflow could not be loaded" />;
  return (
    <section aria-labelledby="edit-heading">
      <h1 id="edit-heading">Edit {workflow.data.name}</h1>
      {workflow.data.terminated_at && (
        <p className="muted">Saving re-activates this terminated workflow and resets its failure counter.</p>
      )}
      <WorkflowForm
        key={workflow.data.id}
        mode="edit"
        initial={initial}
        submitLabel="Save changes"
        pending={update.isPending}
        error={update.error}
        onSubmit={(body) =>
          update.mutate(
            { body, idempotencyKey: newIdempotencyKey() },
            { onSuccess: (w) => navigate(`/workflows/${w.id}`) },
          )
        }
        onCancel={() => navigate(`/workflows/${workflowId}`)}
      />
    </section>
  );
}
