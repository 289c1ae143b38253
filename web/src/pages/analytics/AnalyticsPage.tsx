export default function AnalyticsPage() {
  return (
    <section aria-labelledby="analytics-heading">
      <h1 id="analytics-heading">Analytics</h1>
    </section>
  );
}
