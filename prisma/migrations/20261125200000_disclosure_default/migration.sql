-- The user's default for the burnt-in disclosure caption on staged photos (issue 5 item 7:
-- on by default, a user setting). The order form starts from it; each order can still change it.
ALTER TABLE "users" ADD COLUMN "disclosure_caption_default" BOOLEAN NOT NULL DEFAULT true;

GRANT UPDATE ("disclosure_caption_default") ON "users" TO renzo_app;
