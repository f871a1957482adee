-- tobira: the member's language (issue 13).
--
-- Mail the helpdesk triggers (action notices, a code to read back, a resent link) goes out long
-- after the member's flows are gone, so the language of their last sign-in is kept with the
-- member. NULL until they first sign in: such mail is then written in Japanese, the default.
ALTER TABLE members ADD COLUMN lang TEXT NULL;
