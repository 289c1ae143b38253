export default function ProfilePage() {
  return (
    <section aria-labelledby="profile-heading">
      <h1 id="profile-heading">Profile</h1>
    </section>
  );
}
