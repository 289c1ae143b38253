import { useRegister } from '../../api/auth.ts';
import { AuthForm } from './AuthForm.tsx';

export function RegisterPage() {
  return <AuthForm mode="register" mutation={useRegister()} />;
}
