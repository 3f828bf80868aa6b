-- Staff login attempts per client (an IPv4 address or an IPv6 /64), counted in the
-- database so that every service process shares the count. An attempt is written before
-- its password is checked, and removed when it succeeds: what stays are failures.
CREATE TABLE login_attempts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_key      TEXT    NOT NULL,
    at              BIGINT  NOT NULL
);
CREATE INDEX login_attempts_client ON login_attempts (client_key, at);
