-- tobira: the helpdesk search and the roster load at a million members (issue 17).
--
-- The 1–2 character pieces of a name (0008's `tobira_name_grams`) computed in half the
-- time (issue 17: a million-member roster import within 20 s).
--
-- 0008's version kept each piece once, looking every new piece up in the array built so far;
-- that lookup and the copies of the growing array were most of its cost, and it runs once per
-- member whenever the short-piece index is built or written (a million times when a roster
-- is loaded). GIN keeps each key of a row once whatever the array holds, so the pieces no longer
-- need to be unique here: the characters come from one built-in split, the pairs from one loop.
-- The index holds the same keys per member as before, so it is not rebuilt.

CREATE OR REPLACE FUNCTION tobira_name_grams(key TEXT) RETURNS TEXT[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    pieces TEXT[];
BEGIN
    -- An empty key has no piece (the split would give one empty string).
    IF key = '' THEN
        RETURN '{}';
    END IF;
    pieces := regexp_split_to_array(key, '');
    FOR i IN 1 .. char_length(key) - 1 LOOP
        pieces := pieces || substr(key, i, 2);
    END LOOP;
    RETURN pieces;
END
$$;

-- The walk in member-id order (`tobira_name_walk`, for a piece common enough that a page fills
-- quickly) read each member's row from the table: about 4 µs a member, 15 ms for a piece on
-- one member in 200 at a million members. This index holds what the walk reads (id, name key
-- and the user ID an earlier pass may have listed), so the walk is an index-only scan once the
-- table's pages are marked all-visible (by a vacuum: the roster load runs one).
CREATE INDEX members_name_walk ON members (id) INCLUDE (name_key, user_id);

-- A page of the first `n` matches among the `span` members after `after`, in member-id order:
-- when it is full, it is the page (the members before the last hit were all read).
CREATE FUNCTION tobira_name_walk_span(pattern TEXT, after BIGINT, skip_from TEXT, skip_to TEXT,
                                      n BIGINT, span BIGINT) RETURNS SETOF BIGINT
LANGUAGE sql STABLE PARALLEL SAFE ROWS 20
SET enable_seqscan = off SET enable_bitmapscan = off SET max_parallel_workers_per_gather = 0
AS $$
    SELECT id FROM (SELECT id, name_key, user_id FROM members WHERE id > after
                    ORDER BY id LIMIT span) AS w
    WHERE name_key LIKE pattern
      AND NOT coalesce(user_id >= skip_from AND user_id < skip_to, FALSE)
    ORDER BY id
    LIMIT n
$$;

-- Parallel workers cost more to start (28 ms measured) than a walk takes.
ALTER FUNCTION tobira_name_walk(TEXT, BIGINT, TEXT, TEXT, BIGINT)
    SET max_parallel_workers_per_gather = 0;

-- 0008's page, with a short walk first: the count of matches that 0008 starts with reads the
-- piece's whole posting list from the GIN index however few matches are wanted (34 ms for 藤,
-- one member in five at a million), while a piece that common fills a page within the first
-- few hundred members of the walk. So the walk goes first, over at most 16 × cap members
-- (about 10,000 at a million, read from `members_name_walk` at about 0.1 µs a member); only a
-- piece rarer than that (fewer than one member in 500) goes on to 0008's count.
CREATE OR REPLACE FUNCTION tobira_name_page(pattern TEXT, piece TEXT, after BIGINT,
                                            skip_from TEXT, skip_to TEXT, n BIGINT)
RETURNS SETOF BIGINT
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 20
AS $$
DECLARE
    cap BIGINT;
    found BIGINT[];
BEGIN
    SELECT greatest(100, ceil(sqrt(0.42 * greatest(c.reltuples, 0))))::BIGINT INTO cap
    FROM pg_class AS c WHERE c.oid = 'members'::regclass;
    found := ARRAY(SELECT tobira_name_walk_span(pattern, after, skip_from, skip_to, n, 16 * cap));
    IF cardinality(found) >= n THEN
        RETURN QUERY SELECT id FROM unnest(found) AS f (id) ORDER BY id;
        RETURN;
    END IF;
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
