export default function WorkflowEditPage() {
  return <h1>WorkflowEditPage</h1>;
}
