import { useLogin } from '../../api/auth.ts';
import { AuthForm } from './AuthForm.tsx';

export function LoginPage() {
  return <AuthForm mode="login" mutation={useLogin()} />;
}
