// Request and response shapes for users and sign-in; every string bounded, no unknown fields.
import { t } from "elysia";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../security/passwords";

export const RoleSchema = t.Union([t.Literal("admin"), t.Literal("member"), t.Literal("viewer")]);
/** The address rule of users.service normalizeEmail, so the document and the server agree. */
export const EmailSchema = t.String({ minLength: 3, maxLength: 254, pattern: "^\\s*[^\\s@<>\"']+@[^\\s@<>\"']+\\s*$", description: "Email address (case-insensitive)" });
export const PasswordSchema = t.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
export const NewPasswordSchema = t.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters; not one repeated character, a run of keys or your email address`,
  error: `Password refused: use ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`,
});
export const UserIdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64, pattern: "^[a-z0-9_]+$" }) }, { additionalProperties: false });

export const UserSchema = t.Object({
  id: t.String(),
  email: t.String(),
  role: RoleSchema,
  disabled: t.Boolean(),
  createdAt: t.String({ format: "date-time" }),
  updatedAt: t.String({ format: "date-time" }),
});

export { ErrorSchema } from "../../http/errors";
