-- tobira: names of 2 and more characters from a b-tree of (character pair, member id)
-- (issue 17: every kind of helpdesk search within 10 ms at p99 at a million members).
--
-- 0014's page walks the members in id order and, when the walk does not fill the page, reads
-- the piece's matches from a GIN index. GIN gives its matches in no order, each one a visit to
-- the member's row: for a piece on one member in 500 to one in 1,500 the walk found too few
-- and the GIN read visited up to 650 rows (10–13 ms at p99; the rows were in shared buffers,
-- warming them changed nothing). Here every pair of adjacent characters of a name key is a
-- row of `member_name_pairs`, and its index orders a pair's members by id: a page of a
-- 2-character name is one range of that index read from `after` until the page is full, and a
-- longer name merges the ranges of up to three of its pairs, each member found checked against
-- the name key in `members_name_walk` (0014, index-only). Single characters keep 0008's and
-- 0014's path (a character common enough to matter fills its page in the walk).
--
-- A pair is one BIGINT (first code point × 2^21 + second; code points are below 2^21):
-- building the index of integer keys took 3.4 s against 5.9 s for text at a million members.
-- Only pairs, not triples: a 3-character piece merges its two pairs and checks the name, and
-- the table holds about 2.75 rows a member instead of 4.5 (the import builds it after a load).
--
-- The table is complete exactly when its index exists: a roster load into an empty table
-- drops the index with the other search indexes (`roster_load.rs`) and the triggers stop
-- writing; `tobira_name_pairs_build` fills it from `members` and builds the index in one
-- transaction that holds off the writers of `members`, and the search uses the pairs only when
-- the index is there.

CREATE TABLE member_name_pairs (
    pair BIGINT NOT NULL,
    member_id BIGINT NOT NULL
);

-- The key of a 2-character piece.
CREATE FUNCTION tobira_name_pair(piece TEXT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (ascii(piece)::BIGINT << 21) | ascii(substr(piece, 2, 1))
$$;

-- The keys of every pair of adjacent characters of a name key, once each.
CREATE FUNCTION tobira_name_pairs(key TEXT) RETURNS SETOF BIGINT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 4 AS $$
    SELECT DISTINCT tobira_name_pair(substr(key, i, 2))
    FROM generate_series(1, char_length(key) - 1) AS i
$$;

-- Fills the table from the members and builds its index, unless the index exists. Writers of
-- `members` wait meanwhile (SHARE: the other index builds of a load go on beside it).
CREATE FUNCTION tobira_name_pairs_build() RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE members IN SHARE MODE;
    IF to_regclass('member_name_pairs_walk') IS NOT NULL THEN
        RETURN;
    END IF;
    TRUNCATE member_name_pairs;
    INSERT INTO member_name_pairs (pair, member_id)
    SELECT p, m.id FROM members AS m, tobira_name_pairs(m.name_key) AS p;
    CREATE INDEX member_name_pairs_walk ON member_name_pairs (pair, member_id);
END
$$;

-- The triggers keep the pairs with the name keys (one statement per import batch).
CREATE FUNCTION tobira_name_pairs_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('member_name_pairs_walk') IS NOT NULL THEN
        INSERT INTO member_name_pairs (pair, member_id)
        SELECT p, m.id FROM new_members AS m, tobira_name_pairs(m.name_key) AS p;
    END IF;
    RETURN NULL;
END
$$;

-- Replaces the pairs of members `ids` (their name keys were `old_keys`, are `new_keys`, NULL
-- for a member deleted): an index probe per pair. Joins other than nested loops are off: the
-- planner, knowing nothing of the arrays, otherwise read the whole index in order to merge
-- (a re-import of a million rows with one in ten renamed took 39 s instead of 11 s).
CREATE FUNCTION tobira_name_pairs_replace(ids BIGINT[], old_keys TEXT[], new_keys TEXT[])
RETURNS VOID
LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $$
BEGIN
    DELETE FROM member_name_pairs AS x
    USING unnest(ids, old_keys) AS o (id, key), tobira_name_pairs(o.key) AS p
    WHERE x.pair = p AND x.member_id = o.id;
    INSERT INTO member_name_pairs (pair, member_id)
    SELECT p, n.id FROM unnest(ids, new_keys) AS n (id, key), tobira_name_pairs(n.key) AS p;
END
$$;

CREATE FUNCTION tobira_name_pairs_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[];
    old_keys TEXT[];
BEGIN
    IF to_regclass('member_name_pairs_walk') IS NOT NULL THEN
        SELECT array_agg(o.id), array_agg(o.name_key) INTO ids, old_keys FROM old_members AS o;
        IF ids IS NOT NULL THEN
            PERFORM tobira_name_pairs_replace(ids, old_keys, NULL);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Per statement, as the import's batches rename members (a row trigger's call per renamed
-- member doubled a re-import of a million rows with one in ten renamed: 11 s to 23 s).
-- Statements that rename nobody pay for the join of their old and new rows only.
CREATE FUNCTION tobira_name_pairs_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[];
    old_keys TEXT[];
    new_keys TEXT[];
BEGIN
    IF to_regclass('member_name_pairs_walk') IS NOT NULL THEN
        SELECT array_agg(o.id), array_agg(o.name_key), array_agg(m.name_key)
        INTO ids, old_keys, new_keys
        FROM old_members AS o JOIN new_members AS m ON m.id = o.id
        WHERE o.name_key IS DISTINCT FROM m.name_key;
        IF ids IS NOT NULL THEN
            PERFORM tobira_name_pairs_replace(ids, old_keys, new_keys);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION tobira_name_pairs_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE member_name_pairs;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_name_pairs_insert AFTER INSERT ON members
    REFERENCING NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_name_pairs_insert();
CREATE TRIGGER members_name_pairs_delete AFTER DELETE ON members
    REFERENCING OLD TABLE AS old_members
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_name_pairs_delete();
CREATE TRIGGER members_name_pairs_update AFTER UPDATE ON members
    REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_name_pairs_update();
CREATE TRIGGER members_name_pairs_truncate AFTER TRUNCATE ON members
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_name_pairs_truncate();

-- A page of the members after `after` whose name key holds every pair of `pairs` (one to
-- three) and matches `pattern`, in member-id order: the pairs' ranges of the index, each in
-- member-id order, merged on the member id (one range for two characters: every member in it
-- is a hit), each member left checked against its name key and user ID in `members_name_walk`
-- (index-only). A name's pairs together are rarer than its rarest one, so the walk reads few
-- members that are not hits (at a million members, over 1,125 pieces of 2–4 characters of
-- generated names: p99 1.0 ms, the slowest 2.2 ms). The statement is made per call for the
-- number of pairs; its plan uses their actual values (the index's statistics of each pair).
-- The user-ID check stays in a subquery of its own (OFFSET 0) so that it is a probe per member
-- of the merge, never a join that reads `members` in order.
CREATE FUNCTION tobira_pairs_walk(pairs BIGINT[], pattern TEXT, after BIGINT, skip_from TEXT,
                                  skip_to TEXT, n BIGINT) RETURNS SETOF BIGINT
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 20
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off
SET enable_sort = off SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    statement TEXT := 'SELECT p1.member_id FROM member_name_pairs AS p1';
BEGIN
    FOR i IN 2 .. cardinality(pairs) LOOP
        statement := statement || format(
            ' JOIN member_name_pairs AS p%1$s ON p%1$s.member_id = p1.member_id'
            ' AND p%1$s.pair = $1[%1$s] AND p%1$s.member_id > $3', i);
    END LOOP;
    statement := statement ||
        ' CROSS JOIN LATERAL (SELECT FROM members AS m WHERE m.id = p1.member_id'
        ' AND m.name_key LIKE $2'
        ' AND NOT coalesce(m.user_id >= $4 AND m.user_id < $5, FALSE) OFFSET 0) AS ok'
        ' WHERE p1.pair = $1[1] AND p1.member_id > $3 ORDER BY p1.member_id LIMIT $6';
    RETURN QUERY EXECUTE statement USING pairs, pattern, after, skip_from, skip_to, n;
END
$$;

-- `piece` is now the whole name key of the query (0014 had it for 1–2 characters only). Two
-- characters or more: the pairs' walk, as long as the pairs' index exists (not during a
-- roster load into an empty table); a single character, or no index: 0014's page.
CREATE OR REPLACE FUNCTION tobira_name_page(pattern TEXT, piece TEXT, after BIGINT,
                                            skip_from TEXT, skip_to TEXT, n BIGINT)
RETURNS SETOF BIGINT
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 20
AS $$
DECLARE
    cap BIGINT;
    found BIGINT[];
BEGIN
    IF char_length(piece) >= 2 AND to_regclass('member_name_pairs_walk') IS NOT NULL THEN
        RETURN QUERY SELECT tobira_pairs_walk(
            ARRAY(SELECT k FROM tobira_name_pairs(piece) AS k LIMIT 3),
            pattern, after, skip_from, skip_to, n);
        RETURN;
    END IF;
    SELECT greatest(100, ceil(sqrt(0.42 * greatest(c.reltuples, 0))))::BIGINT INTO cap
    FROM pg_class AS c WHERE c.oid = 'members'::regclass;
    found := ARRAY(SELECT tobira_name_walk_span(pattern, after, skip_from, skip_to, n, 16 * cap));
    IF cardinality(found) >= n THEN
        RETURN QUERY SELECT id FROM unnest(found) AS f (id) ORDER BY id;
        RETURN;
    END IF;
    IF char_length(piece) > 2 THEN
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

SELECT tobira_name_pairs_build();
