export default function WorkflowCreatePage() {
  return <h1>WorkflowCreatePage</h1>;
}
