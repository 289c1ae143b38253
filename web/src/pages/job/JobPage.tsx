import { useParams } from 'react-router';

export default function JobPage() {
  const { workflowId, jobId } = useParams();
  return (
    <section aria-labelledby="job-heading">
      <h1 id="job-heading">Job {jobId}</h1>
      <p>Workflow {workflowId}</p>
    </section>
  );
}
