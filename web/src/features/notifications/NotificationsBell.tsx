export default function NotificationsBell() {
  return (
    <button type="button" aria-label="Notifications">
      <span aria-hidden="true">🔔</span>
    </button>
  );
}
