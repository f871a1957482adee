-- tobira: finding a caller (the helpdesk console's one search field), on PostgreSQL.
--
-- Names are searched by any part, Japanese included. Japanese has no spaces between words, so
-- a word index would never find "田太" in "山田太郎". pg_trgm's GIN index keeps every
-- 3-character window of a name, so `name_key LIKE '%田太郎%'` is answered from the index
-- whatever the script (the LIKE re-checks each candidate, so a hit is always a true
-- substring). This is the counterpart of SQLite's FTS5 trigram table; unlike FTS5 it gives
-- its matches in no order, which `tobira_name_page` below deals with.
--
-- pg_trgm splits text into words by the database's LC_CTYPE: under the C locale every
-- non-ASCII character counts as a separator and a Japanese name has no trigram at all (the
-- index would then answer nothing and every search would read the whole table). The check
-- below refuses such a database with a message that says what to do.
--
-- Like FTS5, a trigram index cannot serve fewer than 3 characters (a 1- or 2-character
-- pattern yields no trigram, and GIN would scan the whole index). Japanese names are often 1
-- or 2 characters long (林, 森, 翔, 小林), so every 1- and 2-character piece of a name is also
-- kept in member_name_grams, a b-tree keyed (gram, member_id): a short query is one range
-- read in member-id order, which pages without sorting. Statement-level triggers with
-- transition tables keep it in step with every write set-based (the roster import inserts
-- 10,000 members per statement, and their pieces go in with one INSERT … SELECT).
--
-- The key both indexes hold is the name without spaces (ASCII and ideographic) and tabs,
-- ASCII lower-cased, exactly as `domain::member_search::name_key` normalises a query:
-- `lower` under the "C" collation folds ASCII only, as that function does.
--
-- User IDs, cards and addresses are searched by prefix with range conditions
-- (`prefix <= x < prefix || U+007F`), which need code-point order: the columns take the "C"
-- collation, so their b-tree indexes (the UNIQUE ones included) order as the ranges compare,
-- whatever the database's default collation.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

DO $$
BEGIN
    IF coalesce(array_length(show_trgm('山田太郎'), 1), 0) = 0 THEN
        RAISE EXCEPTION 'this database cannot index Japanese names: its LC_CTYPE is %', current_setting('lc_ctype')
            USING HINT = 'create the database with a UTF-8 character type, e.g. CREATE DATABASE tobira ENCODING ''UTF8'' LC_COLLATE ''C.UTF-8'' LC_CTYPE ''C.UTF-8'' TEMPLATE template0';
    END IF;
END
$$;

ALTER TABLE members
    ALTER COLUMN user_id TYPE TEXT COLLATE "C",
    ALTER COLUMN symbol TYPE TEXT COLLATE "C",
    ALTER COLUMN number TYPE TEXT COLLATE "C",
    ALTER COLUMN email TYPE TEXT COLLATE "C";

ALTER TABLE members ADD COLUMN name_key TEXT COLLATE "C" GENERATED ALWAYS AS
    (lower(replace(replace(replace(name COLLATE "C", ' ', ''), U&'\3000', ''), E'\t', ''))) STORED;

CREATE INDEX members_name_trgm ON members USING gin (name_key gin_trgm_ops);

-- A page of the members whose name key matches a LIKE pattern, in member-id order. GIN
-- returns its matches in no order, so the cheap plan depends on how many there are: a rare
-- piece is best read from the trigram index (all matches, sorted), a common one by walking
-- the members in id order until the page is full. The planner guesses that number from a
-- sample and, for a piece it guesses common but that is rare, walks the whole table
-- (measured: 54 ms at 100,000 members for a 3-character piece matching 9). So the choice is
-- made on a count instead: the index is asked for at most `cap` matches; fewer, and they are
-- the answer; `cap`, and the piece is common enough (a density of at least cap / members)
-- that the walk in id order fills a page within about members × page / cap rows. Either way
-- a page costs at most about twice the reading of `cap` matches, whatever the planner would
-- have guessed. Each plan is pinned by its function's settings, which hold only while that
-- function runs. `skip_from` / `skip_to` (both NULL for none) leave out a user-ID range that
-- an earlier pass of the query listed already.
CREATE FUNCTION tobira_name_matches(pattern TEXT, after BIGINT, skip_from TEXT, skip_to TEXT,
                                    cap BIGINT) RETURNS SETOF BIGINT
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1000
SET enable_seqscan = off SET enable_indexscan = off
AS $$
    -- `id + 0`: a bitmap of the primary key for `id > after` would cover every member
    -- (measured 8 ms at 100,000 for the first page); the bound is checked on the matches.
    SELECT id FROM members
    WHERE name_key LIKE pattern AND id + 0 > after
      AND NOT coalesce(user_id >= skip_from AND user_id < skip_to, FALSE)
    LIMIT cap
$$;

CREATE FUNCTION tobira_name_walk(pattern TEXT, after BIGINT, skip_from TEXT, skip_to TEXT,
                                 n BIGINT) RETURNS SETOF BIGINT
LANGUAGE sql STABLE PARALLEL SAFE ROWS 20
SET enable_seqscan = off SET enable_bitmapscan = off
AS $$
    SELECT id FROM members
    WHERE name_key LIKE pattern AND id > after
      AND NOT coalesce(user_id >= skip_from AND user_id < skip_to, FALSE)
    ORDER BY id
    LIMIT n
$$;

CREATE FUNCTION tobira_name_page(pattern TEXT, after BIGINT, skip_from TEXT, skip_to TEXT,
                                 n BIGINT) RETURNS SETOF BIGINT
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 20
AS $$
DECLARE
    cap BIGINT;
    found BIGINT[];
BEGIN
    -- A match read from the trigram index (a heap page each) costs about 50 rows of the walk
    -- (measured: 15 µs against 0.3 µs), so the worst of both plans is least at
    -- cap = sqrt(page × members / 50): about 200 at 100,000 members, 650 at a million. The
    -- member count is the planner's estimate (no count).
    SELECT greatest(100, ceil(sqrt(0.42 * greatest(c.reltuples, 0))))::BIGINT INTO cap
    FROM pg_class AS c WHERE c.oid = 'members'::regclass;
    found := ARRAY(SELECT tobira_name_matches(pattern, after, skip_from, skip_to, cap));
    IF cardinality(found) < cap THEN
        RETURN QUERY SELECT id FROM unnest(found) AS f (id) ORDER BY id LIMIT n;
    ELSE
        RETURN QUERY SELECT tobira_name_walk(pattern, after, skip_from, skip_to, n);
    END IF;
END
$$;

-- Every 1- and 2-character piece of a name key, once each.
CREATE FUNCTION tobira_name_grams(key TEXT) RETURNS SETOF TEXT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT DISTINCT substr(key, n, w)
    FROM generate_series(1, char_length(key)) AS n, (VALUES (1), (2)) AS g (w)
    WHERE n + w - 1 <= char_length(key)
$$;

CREATE TABLE member_name_grams (
    gram      TEXT   COLLATE "C" NOT NULL,
    member_id BIGINT NOT NULL,
    PRIMARY KEY (gram, member_id)
);

CREATE FUNCTION tobira_member_grams_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_name_grams (gram, member_id)
    SELECT g, n.id FROM inserted_members AS n, tobira_name_grams(n.name_key) AS g;
    RETURN NULL;
END
$$;

-- By the old name's pieces, so each delete is a primary-key probe.
CREATE FUNCTION tobira_member_grams_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM member_name_grams AS d
    USING (SELECT o.id, g FROM deleted_members AS o, tobira_name_grams(o.name_key) AS g) AS x
    WHERE d.gram = x.g AND d.member_id = x.id;
    RETURN NULL;
END
$$;

-- Only rows whose name changed: most updates (a step, a password) leave the pieces alone.
CREATE FUNCTION tobira_member_grams_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM member_name_grams AS d
    USING (SELECT o.id, g
           FROM old_members AS o JOIN new_members AS n ON n.id = o.id,
                tobira_name_grams(o.name_key) AS g
           WHERE o.name_key IS DISTINCT FROM n.name_key) AS x
    WHERE d.gram = x.g AND d.member_id = x.id;
    INSERT INTO member_name_grams (gram, member_id)
    SELECT g, n.id
    FROM new_members AS n JOIN old_members AS o ON o.id = n.id,
         tobira_name_grams(n.name_key) AS g
    WHERE o.name_key IS DISTINCT FROM n.name_key
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_grams_insert AFTER INSERT ON members
    REFERENCING NEW TABLE AS inserted_members
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_member_grams_insert();
CREATE TRIGGER members_grams_delete AFTER DELETE ON members
    REFERENCING OLD TABLE AS deleted_members
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_member_grams_delete();
CREATE TRIGGER members_grams_update AFTER UPDATE ON members
    REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_member_grams_update();

-- The members already there.
INSERT INTO member_name_grams (gram, member_id)
SELECT g, m.id FROM members AS m, tobira_name_grams(m.name_key) AS g;

-- A card number without its symbol (prefix), in (number, symbol) order for stable pages.
CREATE INDEX members_number ON members (number, symbol);
-- Addresses compared case-insensitively (prefix); `lower` under "C" folds ASCII, as
-- `domain::member_search::email_key` does.
CREATE INDEX members_email_lower ON members (lower(email));
