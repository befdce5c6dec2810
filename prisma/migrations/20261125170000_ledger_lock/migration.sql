-- The ledger trigger serialises a user's movements by locking the user row. FOR UPDATE also
-- conflicts with the KEY SHARE lock that every insert referencing the user takes (foreign key
-- check): two transactions that each inserted such a row (a transformation, a variant) and then
-- moved credits deadlocked. FOR NO KEY UPDATE serialises movements just the same (the balance is
-- not a key) without conflicting with foreign-key checks.
CREATE OR REPLACE FUNCTION "credit_ledger_apply"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  PERFORM 1 FROM "users" WHERE "id" = NEW."user_id" FOR NO KEY UPDATE;
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
