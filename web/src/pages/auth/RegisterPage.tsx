import { useRegister, useSignupMode } from '../../api/auth.ts';
import { Spinner } from '../../components/Spinner.tsx';
import { AuthForm } from './AuthForm.tsx';

/** Sign-up as the installation allows it (open, by invitation, closed); `?invite=` is sent along. */
export function RegisterPage() {
  const signup = useSignupMode();
  const register = useRegister();
  // The form needs the mode to know whether to show; an unreadable mode leaves the form (the server decides).
  if (signup.isPending) return <Spinner />;
  return <AuthForm mode="register" mutation={register} signupMode={signup.data} />;
}
