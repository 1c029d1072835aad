-- Console sign-in links that were used (docs/console.md, "Signing in"): a link works once. A row
-- is kept until its link has expired; later uses are refused by the link's own expiry.
CREATE TABLE console_login_links (
    jti        text        PRIMARY KEY,
    used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX console_login_links_expiry ON console_login_links (expires_at);
