-- Account erasure and retention (issue 7, items 3 and 4; decision 012).

-- CreateTable
CREATE TABLE "account_deletion_codes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "code_hash" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_deletion_codes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "account_deletion_codes_user_id_created_at_idx" ON "account_deletion_codes"("user_id", "created_at");

-- AddForeignKey
ALTER TABLE "account_deletion_codes" ADD CONSTRAINT "account_deletion_codes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable: the retention job marks the photos whose original it deleted.
ALTER TABLE "photos" ADD COLUMN "original_purged_at" TIMESTAMPTZ(3);

-- What Prisma cannot express.
ALTER TABLE "account_deletion_codes" ADD CONSTRAINT "account_deletion_codes_attempts_nonnegative" CHECK ("attempts" >= 0);

-- Row Level Security, as for every user-owned table (decision 003).
ALTER TABLE "account_deletion_codes" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "account_deletion_codes" FORCE ROW LEVEL SECURITY;
CREATE POLICY privileged_all ON "account_deletion_codes" TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_only ON "account_deletion_codes" TO renzo_app USING ("user_id" = app_user_id()) WITH CHECK ("user_id" = app_user_id());

-- The web asks for and checks its own codes (through RLS), and marks its own account for
-- deletion once the right code is typed; the worker does the rest on the privileged path.
GRANT SELECT, INSERT, UPDATE ON "account_deletion_codes" TO renzo_app;
GRANT UPDATE ("deletion_requested_at") ON "users" TO renzo_app;

-- Once an account is marked for deletion, no new work is accepted for it, whatever the path
-- (web, API, worker): the erasure job must not race new projects, photos or orders.
CREATE FUNCTION "refuse_work_during_erasure"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "users" WHERE "id" = NEW."user_id" AND "deletion_requested_at" IS NOT NULL) THEN
    RAISE EXCEPTION 'account % is being deleted: no new work is accepted', NEW."user_id"
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN NEW;
END
$$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['projects', 'photos', 'transformations', 'custom_styles', 'data_exports']
  LOOP
    EXECUTE format('CREATE TRIGGER "refuse_work_during_erasure" BEFORE INSERT ON %I FOR EACH ROW EXECUTE FUNCTION "refuse_work_during_erasure"()', t);
  END LOOP;
END
$$;
