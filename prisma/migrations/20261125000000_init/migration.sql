-- CreateEnum
CREATE TYPE "role" AS ENUM ('agent', 'admin');

-- CreateEnum
CREATE TYPE "locale" AS ENUM ('fr', 'en');

-- CreateEnum
CREATE TYPE "project_status" AS ENUM ('active', 'archived');

-- CreateEnum
CREATE TYPE "photo_status" AS ENUM ('uploading', 'processing', 'ready', 'error');

-- CreateEnum
CREATE TYPE "variant_kind" AS ENUM ('thumbnail', 'preview', 'full');

-- CreateEnum
CREATE TYPE "transformation_kind" AS ENUM ('virtual_staging', 'declutter', 'day_to_dusk', 'sky_replacement', 'enhancement');

-- CreateEnum
CREATE TYPE "quality" AS ENUM ('standard', 'hd');

-- CreateEnum
CREATE TYPE "transformation_status" AS ENUM ('queued', 'processing', 'succeeded', 'failed', 'canceled');

-- CreateEnum
CREATE TYPE "ledger_reason" AS ENUM ('welcome_bonus', 'purchase', 'subscription', 'reservation', 'capture', 'release', 'refund', 'admin_adjustment');

-- CreateEnum
CREATE TYPE "purchase_status" AS ENUM ('pending', 'paid', 'failed', 'refunded');

-- CreateEnum
CREATE TYPE "export_status" AS ENUM ('queued', 'ready', 'failed', 'expired');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "name" TEXT,
    "role" "role" NOT NULL DEFAULT 'agent',
    "locale" "locale" NOT NULL DEFAULT 'fr',
    "credit_balance" INTEGER NOT NULL DEFAULT 0,
    "stripe_customer_id" TEXT,
    "totp_secret" TEXT,
    "totp_enabled_at" TIMESTAMPTZ(3),
    "totp_last_used_step" BIGINT,
    "storage_quota_bytes" BIGINT,
    "deletion_requested_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "user_agent" TEXT,
    "ip_hash" TEXT,
    "second_factor_pending" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "login_verifications" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "browser_hash" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "ip_hash" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "login_verifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recovery_codes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "code_hash" TEXT NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recovery_codes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rate_limits" (
    "key" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "reset_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rate_limits_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "projects" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "address" TEXT,
    "reference" TEXT,
    "status" "project_status" NOT NULL DEFAULT 'active',
    "cover_photo_id" UUID,
    "archived_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "photos" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "status" "photo_status" NOT NULL DEFAULT 'uploading',
    "original_key" TEXT NOT NULL,
    "original_filename" TEXT NOT NULL,
    "content_type" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL DEFAULT 0,
    "width" INTEGER,
    "height" INTEGER,
    "sha256" TEXT,
    "duplicate_of_id" UUID,
    "error_code" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "photos_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "photo_variants" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "photo_id" UUID NOT NULL,
    "transformation_id" UUID,
    "kind" "variant_kind" NOT NULL,
    "key" TEXT NOT NULL,
    "content_type" TEXT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "photo_variants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transformations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "photo_id" UUID NOT NULL,
    "batch_id" UUID NOT NULL,
    "kind" "transformation_kind" NOT NULL,
    "room_type" TEXT,
    "style" TEXT,
    "custom_style_id" UUID,
    "quality" "quality" NOT NULL DEFAULT 'standard',
    "credits_cost" INTEGER NOT NULL,
    "status" "transformation_status" NOT NULL DEFAULT 'queued',
    "provider" TEXT NOT NULL,
    "model" TEXT,
    "input" JSONB,
    "prediction_id" TEXT,
    "output_key" TEXT,
    "output_width" INTEGER,
    "output_height" INTEGER,
    "disclosure_label" BOOLEAN NOT NULL DEFAULT false,
    "error_code" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transformations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_ledger" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "seq" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "delta" INTEGER NOT NULL,
    "reason" "ledger_reason" NOT NULL,
    "reference" TEXT,
    "idempotency_key" TEXT NOT NULL,
    "balance_after" INTEGER NOT NULL DEFAULT 0,
    "note" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credit_ledger_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "provider" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "user_id" UUID,
    "payload" JSONB NOT NULL,
    "flag" TEXT,
    "error" TEXT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("provider","id")
);

-- CreateTable
CREATE TABLE "purchases" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "pack_id" TEXT NOT NULL,
    "credits" INTEGER NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'eur',
    "status" "purchase_status" NOT NULL DEFAULT 'pending',
    "stripe_checkout_session_id" TEXT NOT NULL,
    "stripe_payment_intent_id" TEXT,
    "refunded_credits" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "purchases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "subscriptions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "stripe_subscription_id" TEXT NOT NULL,
    "plan_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "current_period_end" TIMESTAMPTZ(3),
    "cancel_at_period_end" BOOLEAN NOT NULL DEFAULT false,
    "stripe_event_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "custom_styles" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prompt" TEXT NOT NULL,
    "example_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "custom_styles_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID,
    "type" TEXT NOT NULL,
    "ip_hash" TEXT,
    "data" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "data_exports" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "status" "export_status" NOT NULL DEFAULT 'queued',
    "key" TEXT,
    "size_bytes" BIGINT,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "data_exports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "users_stripe_customer_id_key" ON "users"("stripe_customer_id");

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "login_verifications_token_hash_key" ON "login_verifications"("token_hash");

-- CreateIndex
CREATE INDEX "login_verifications_email_created_at_idx" ON "login_verifications"("email", "created_at");

-- CreateIndex
CREATE INDEX "recovery_codes_user_id_idx" ON "recovery_codes"("user_id");

-- CreateIndex
CREATE INDEX "projects_user_id_created_at_idx" ON "projects"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "photos_project_id_created_at_idx" ON "photos"("project_id", "created_at");

-- CreateIndex
CREATE INDEX "photos_user_id_idx" ON "photos"("user_id");

-- CreateIndex
CREATE INDEX "photos_project_id_sha256_idx" ON "photos"("project_id", "sha256");

-- CreateIndex
CREATE UNIQUE INDEX "photo_variants_key_key" ON "photo_variants"("key");

-- CreateIndex
CREATE INDEX "photo_variants_photo_id_idx" ON "photo_variants"("photo_id");

-- CreateIndex
CREATE INDEX "photo_variants_transformation_id_idx" ON "photo_variants"("transformation_id");

-- CreateIndex
CREATE UNIQUE INDEX "transformations_prediction_id_key" ON "transformations"("prediction_id");

-- CreateIndex
CREATE INDEX "transformations_project_id_created_at_idx" ON "transformations"("project_id", "created_at");

-- CreateIndex
CREATE INDEX "transformations_photo_id_created_at_idx" ON "transformations"("photo_id", "created_at");

-- CreateIndex
CREATE INDEX "transformations_batch_id_idx" ON "transformations"("batch_id");

-- CreateIndex
CREATE INDEX "transformations_user_id_status_idx" ON "transformations"("user_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "credit_ledger_seq_key" ON "credit_ledger"("seq");

-- CreateIndex
CREATE UNIQUE INDEX "credit_ledger_idempotency_key_key" ON "credit_ledger"("idempotency_key");

-- CreateIndex
CREATE INDEX "credit_ledger_user_id_created_at_idx" ON "credit_ledger"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "credit_ledger_reference_idx" ON "credit_ledger"("reference");

-- CreateIndex
CREATE INDEX "webhook_events_processed_at_idx" ON "webhook_events"("processed_at");

-- CreateIndex
CREATE UNIQUE INDEX "purchases_stripe_checkout_session_id_key" ON "purchases"("stripe_checkout_session_id");

-- CreateIndex
CREATE UNIQUE INDEX "purchases_stripe_payment_intent_id_key" ON "purchases"("stripe_payment_intent_id");

-- CreateIndex
CREATE INDEX "purchases_user_id_created_at_idx" ON "purchases"("user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "subscriptions_stripe_subscription_id_key" ON "subscriptions"("stripe_subscription_id");

-- CreateIndex
CREATE INDEX "subscriptions_user_id_idx" ON "subscriptions"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "custom_styles_user_id_name_key" ON "custom_styles"("user_id", "name");

-- CreateIndex
CREATE INDEX "audit_events_user_id_created_at_idx" ON "audit_events"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_events_type_created_at_idx" ON "audit_events"("type", "created_at");

-- CreateIndex
CREATE INDEX "data_exports_user_id_idx" ON "data_exports"("user_id");

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recovery_codes" ADD CONSTRAINT "recovery_codes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "projects" ADD CONSTRAINT "projects_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "photos" ADD CONSTRAINT "photos_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "photos" ADD CONSTRAINT "photos_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "photo_variants" ADD CONSTRAINT "photo_variants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "photo_variants" ADD CONSTRAINT "photo_variants_photo_id_fkey" FOREIGN KEY ("photo_id") REFERENCES "photos"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "photo_variants" ADD CONSTRAINT "photo_variants_transformation_id_fkey" FOREIGN KEY ("transformation_id") REFERENCES "transformations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transformations" ADD CONSTRAINT "transformations_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transformations" ADD CONSTRAINT "transformations_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transformations" ADD CONSTRAINT "transformations_photo_id_fkey" FOREIGN KEY ("photo_id") REFERENCES "photos"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transformations" ADD CONSTRAINT "transformations_custom_style_id_fkey" FOREIGN KEY ("custom_style_id") REFERENCES "custom_styles"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "custom_styles" ADD CONSTRAINT "custom_styles_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "data_exports" ADD CONSTRAINT "data_exports_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ─────────────────────────────────────────────────────────────────────────────
-- What Prisma's schema cannot express. See docs/decisions/002-credit-ledger.md and
-- docs/decisions/003-row-level-security.md.
-- ─────────────────────────────────────────────────────────────────────────────

-- Invariants that hold whatever tool writes.
ALTER TABLE "users" ADD CONSTRAINT "users_credit_balance_nonnegative" CHECK ("credit_balance" >= 0);
ALTER TABLE "users" ADD CONSTRAINT "users_email_lowercase" CHECK ("email" = lower("email"));
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_delta_nonzero" CHECK ("delta" <> 0 OR "reason" = 'capture');
ALTER TABLE "transformations" ADD CONSTRAINT "transformations_credits_cost_nonnegative" CHECK ("credits_cost" >= 0);
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_refunded_credits_range" CHECK ("refunded_credits" BETWEEN 0 AND "credits");

-- One live prediction per transformation run is looked up by id; a reconcile job scans the
-- ones still processing.
CREATE INDEX "transformations_processing_idx" ON "transformations"("started_at") WHERE "status" = 'processing';

-- The credit ledger drives the balance. The user row is locked first, so concurrent movements
-- for one user are serialised; a movement whose idempotency key already exists is skipped
-- (the trigger returns NULL, the INSERT reports 0 rows); the CHECK above refuses an overdraft.
CREATE FUNCTION "credit_ledger_apply"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  PERFORM 1 FROM "users" WHERE "id" = NEW."user_id" FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'credit_ledger: unknown user %', NEW."user_id" USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF EXISTS (SELECT 1 FROM "credit_ledger" WHERE "idempotency_key" = NEW."idempotency_key") THEN
    RETURN NULL;
  END IF;
  UPDATE "users" SET "credit_balance" = "credit_balance" + NEW."delta", "updated_at" = now()
    WHERE "id" = NEW."user_id"
    RETURNING "credit_balance" INTO NEW."balance_after";
  RETURN NEW;
END
$$;

CREATE TRIGGER "credit_ledger_apply" BEFORE INSERT ON "credit_ledger"
FOR EACH ROW EXECUTE FUNCTION "credit_ledger_apply"();

-- Append-only: corrections are new rows. Account erasure (a privileged path) may delete rows
-- after setting renzo.ledger_erasure for its transaction; the app role has no DELETE grant.
CREATE FUNCTION "credit_ledger_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('renzo.ledger_erasure', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'credit_ledger is append-only: insert a correcting row instead'
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER "credit_ledger_append_only" BEFORE UPDATE OR DELETE ON "credit_ledger"
FOR EACH ROW EXECUTE FUNCTION "credit_ledger_append_only"();

-- The balance moves only through the ledger (pg_trigger_depth() is 2 when the ledger trigger
-- updates the row); a new user starts at 0.
CREATE FUNCTION "users_balance_guard"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' AND NEW."credit_balance" <> 0 THEN
    RAISE EXCEPTION 'users.credit_balance starts at 0: insert a credit_ledger row instead'
      USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW."credit_balance" IS DISTINCT FROM OLD."credit_balance" AND pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'users.credit_balance is maintained by credit_ledger: insert a ledger row instead'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "users_balance_guard" BEFORE INSERT OR UPDATE ON "users"
FOR EACH ROW EXECUTE FUNCTION "users_balance_guard"();

-- Row Level Security. The application role (renzo_app, no BYPASSRLS) sees only the rows of the
-- user named by the transaction-local setting app.user_id. The role that runs migrations (the
-- privileged path: worker, webhooks, admin) keeps full access through its own policy, so the
-- tables can be FORCEd without locking their owner out.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'renzo_app') THEN
    CREATE ROLE renzo_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

CREATE FUNCTION "app_user_id"() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['sessions', 'recovery_codes', 'projects', 'photos', 'photo_variants',
    'transformations', 'credit_ledger', 'purchases', 'subscriptions', 'custom_styles',
    'audit_events', 'data_exports', 'webhook_events']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY privileged_all ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    EXECUTE format('CREATE POLICY owner_only ON %I TO renzo_app USING ("user_id" = app_user_id()) WITH CHECK ("user_id" = app_user_id())', t);
  END LOOP;
END
$$;

ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
CREATE POLICY privileged_all ON "users" TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_only ON "users" TO renzo_app USING ("id" = app_user_id()) WITH CHECK ("id" = app_user_id());

-- The app role may only spend its own credits; grants, releases and refunds are privileged.
CREATE POLICY app_spends_only ON "credit_ledger" AS RESTRICTIVE FOR INSERT TO renzo_app
  WITH CHECK ("delta" < 0 AND "reason" = 'reservation');

GRANT USAGE ON SCHEMA public TO renzo_app;
GRANT EXECUTE ON FUNCTION "app_user_id"() TO renzo_app;
GRANT SELECT, UPDATE ("name", "locale", "updated_at") ON "users" TO renzo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "projects", "photos", "photo_variants", "transformations",
  "custom_styles", "recovery_codes", "data_exports" TO renzo_app;
GRANT SELECT, UPDATE ("revoked_at", "last_seen_at"), DELETE ON "sessions" TO renzo_app;
GRANT SELECT, INSERT ON "credit_ledger", "audit_events" TO renzo_app;
GRANT USAGE ON SEQUENCE "credit_ledger_seq_seq" TO renzo_app;
GRANT SELECT ON "purchases", "subscriptions" TO renzo_app;
