-- Supervisor progress on the objects the reconcile engine drives: the last
-- error and its class (user / transient / permanent), the current step, the
-- consecutive failures and when the object is due again (ms; 0 = now).
ALTER TABLE cluster ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE cluster ADD COLUMN last_error_class TEXT NULL;
ALTER TABLE cluster ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE cluster ADD COLUMN retry_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cluster ADD COLUMN next_retry_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE installation ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE installation ADD COLUMN last_error_class TEXT NULL;
ALTER TABLE installation ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE installation ADD COLUMN retry_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE installation ADD COLUMN next_retry_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE cluster_installation ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE cluster_installation ADD COLUMN last_error_class TEXT NULL;
ALTER TABLE cluster_installation ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE cluster_installation ADD COLUMN retry_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cluster_installation ADD COLUMN next_retry_at BIGINT NOT NULL DEFAULT 0;
