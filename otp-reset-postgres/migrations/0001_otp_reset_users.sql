-- The default user table. `phone` holds the E.164 digits without `+` ("6281234567890"), as
-- otp_reset::PhoneNumber::digits gives them; `password` an argon2id PHC string.
CREATE TABLE IF NOT EXISTS otp_reset_users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    phone text NOT NULL UNIQUE,
    password text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
