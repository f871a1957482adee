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
-- or 2 characters long (林, 森, 翔, 小林), so a second GIN index holds, per member, the set of
-- every 1- and 2-character piece of the name key (`tobira_name_grams`): a short query is
-- `tobira_name_grams(name_key) @> ARRAY[piece]`, answered from that index. (A table of
-- (piece, member) rows kept by triggers, as SQLite has, was measured first: its b-tree took
-- three quarters of the roster import's time; GIN's pending list takes the pieces in bulk.)
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

-- Every 1- and 2-character piece of a name key, once each (what the short-piece index holds).
CREATE FUNCTION tobira_name_grams(key TEXT) RETURNS TEXT[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    pieces TEXT[] := '{}';
    piece TEXT;
    n INT := char_length(key);
BEGIN
    FOR i IN 1..n LOOP
        piece := substr(key, i, 1);
        IF NOT piece = ANY (pieces) THEN
            pieces := pieces || piece;
        END IF;
        IF i < n THEN
            piece := substr(key, i, 2);
            IF NOT piece = ANY (pieces) THEN
                pieces := pieces || piece;
            END IF;
        END IF;
    END LOOP;
    RETURN pieces;
END
$$;

CREATE INDEX members_name_grams ON members USING gin (tobira_name_grams(name_key));

-- A page of the members whose name key holds a piece, in member-id order. GIN returns its
-- matches in no order, so the cheap plan depends on how many there are: a rare piece is best
-- read from its index (all matches, sorted), a common one by walking the members in id order
-- until the page is full. The planner guesses that number from a sample and, for a piece it
-- guesses common but that is rare, walks the whole table (measured: 54 ms at 100,000 members
-- for a 3-character piece matching 9). So the choice is made on a count instead: the index is
-- asked for at most `cap` matches; fewer, and they are the answer; `cap`, and the piece is
-- common enough (a density of at least cap / members) that the walk in id order fills a page
-- within about members × page / cap rows. Either way a page costs at most about twice the
-- reading of `cap` matches, whatever the planner would have guessed. Each plan is pinned by
-- its function's settings, which hold only while that function runs.
--
-- `pattern` is the LIKE pattern of the piece (`%piece%`, wildcards escaped); `piece` is the
-- piece itself when it has 1 or 2 characters (the short-piece index), NULL otherwise (the
-- trigram index). `skip_from` / `skip_to` (both NULL for none) leave out a user-ID range that
-- an earlier pass of the query listed already.
--
-- In the index reads, `id + 0`: a bitmap of the primary key for `id > after` would cover
-- every member (measured 8 ms at 100,000 for a first page); the bound is checked on the
-- matches instead.
CREATE FUNCTION tobira_trigram_matches(pattern TEXT, after BIGINT, skip_from TEXT,
                                       skip_to TEXT, cap BIGINT) RETURNS SETOF BIGINT
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1000
SET enable_seqscan = off SET enable_indexscan = off
AS $$
    SELECT id FROM members
    WHERE name_key LIKE pattern AND id + 0 > after
      AND NOT coalesce(user_id >= skip_from AND user_id < skip_to, FALSE)
    LIMIT cap
$$;

CREATE FUNCTION tobira_gram_matches(piece TEXT, after BIGINT, skip_from TEXT, skip_to TEXT,
                                    cap BIGINT) RETURNS SETOF BIGINT
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1000
SET enable_seqscan = off SET enable_indexscan = off
AS $$
    SELECT id FROM members
    WHERE tobira_name_grams(name_key) @> ARRAY[piece] AND id + 0 > after
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

CREATE FUNCTION tobira_name_page(pattern TEXT, piece TEXT, after BIGINT, skip_from TEXT,
                                 skip_to TEXT, n BIGINT) RETURNS SETOF BIGINT
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 20
AS $$
DECLARE
    cap BIGINT;
    found BIGINT[];
BEGIN
    -- A match read from an index (a heap page each) costs about 50 rows of the walk
    -- (measured: 15 µs against 0.3 µs), so the worst of both plans is least at
    -- cap = sqrt(page × members / 50): about 200 at 100,000 members, 650 at a million. The
    -- member count is the planner's estimate (no count).
    SELECT greatest(100, ceil(sqrt(0.42 * greatest(c.reltuples, 0))))::BIGINT INTO cap
    FROM pg_class AS c WHERE c.oid = 'members'::regclass;
    IF piece IS NULL THEN
        found := ARRAY(SELECT tobira_trigram_matches(pattern, after, skip_from, skip_to, cap));
    ELSE
        found := ARRAY(SELECT tobira_gram_matches(piece, after, skip_from, skip_to, cap));
    END IF;
    IF cardinality(found) < cap THEN
        RETURN QUERY SELECT id FROM unnest(found) AS f (id) ORDER BY id LIMIT n;
    ELSE
        RETURN QUERY SELECT tobira_name_walk(pattern, after, skip_from, skip_to, n);
    END IF;
END
$$;

-- A card number without its symbol (prefix), in (number, symbol) order for stable pages.
CREATE INDEX members_number ON members (number, symbol);
-- Addresses compared case-insensitively (prefix); `lower` under "C" folds ASCII, as
-- `domain::member_search::email_key` does.
CREATE INDEX members_email_lower ON members (lower(email));
