export default function WorkflowDetailPage() {
  return <h1>WorkflowDetailPage</h1>;
}
