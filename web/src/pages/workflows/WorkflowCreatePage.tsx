import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useCreateWorkflow } from '../../api/workflows.ts';
import { emptyForm } from '../../features/workflow-form/form-state.ts';
import { WorkflowForm } from '../../features/workflow-form/WorkflowForm.tsx';
import { newIdempotencyKey } from '../../lib/format.ts';

export default function WorkflowCreatePage() {
  const create = useCreateWorkflow();
  const navigate = useNavigate();
  const [initial] = useState(emptyForm);
  // One key per form: a double submit (or a retry after a lost answer) creates one workflow.
  const [key] = useState(newIdempotencyKey);
  return (
    <section aria-labelledby="create-heading">
      <h1 id="create-heading">Create a workflow</h1>
      <WorkflowForm
        mode="create"
        initial={initial}
        submitLabel="Create workflow"
        pending={create.isPending}
        error={create.error}
        onSubmit={(body) =>
          create.mutate(
            { body, idempotencyKey: key },
            { onSuccess: (workflow) => navigate(`/workflows/${workflow.id}`) },
          )
        }
        onCancel={() => navigate('/')}
      />
    </section>
  );
}
