-- A zero movement (the capture that settles a reservation) changes no balance, so it no longer
-- takes the user row's lock: a transformation finishing no longer waits behind the same user's
-- order in progress (measured: completions stalled for the whole of a burst of big orders). It
-- still writes nothing twice: twins of one key are serialised on a transaction lock of that key
-- (space 7011; 7010 is the batch lock), then the idempotency check skips the second, as before.
-- Its balance_after is the committed balance when it is written. Every other movement is
-- serialised on the user row as before (decision 002).
CREATE OR REPLACE FUNCTION "credit_ledger_apply"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF NEW."delta" = 0 THEN
    PERFORM pg_advisory_xact_lock(7011, hashtext(NEW."idempotency_key"));
    IF EXISTS (SELECT 1 FROM "credit_ledger" WHERE "idempotency_key" = NEW."idempotency_key") THEN
      RETURN NULL;
    END IF;
    SELECT "credit_balance" INTO NEW."balance_after" FROM "users" WHERE "id" = NEW."user_id";
    IF NOT FOUND THEN
      RAISE EXCEPTION 'credit_ledger: unknown user %', NEW."user_id" USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
  END IF;
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
