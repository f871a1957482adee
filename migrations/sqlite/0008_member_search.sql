-- tobira: finding a caller (the helpdesk console's one search field).
--
-- Names are searched by any part, Japanese included. Japanese has no spaces between words, so
-- a word tokenizer (unicode61) would index "山田太郎" as one token and never find "田太"; the
-- FTS5 trigram tokenizer indexes every 3-character window instead, so any substring of 3 or
-- more characters is a phrase of consecutive trigrams, answered from the index whatever the
-- script (kanji, kana, Latin). It is in the SQLite that sqlx bundles (FTS5 is compiled in;
-- trigram since 3.34, contentless_delete since 3.43; bundled 3.51). The table is contentless
-- (the names stay in `members` only), with deletes allowed so that a changed name leaves no
-- stale hit.
--
-- FTS5 cannot match fewer than 3 characters (the trigram tokenizer emits no token for them,
-- and LIKE '%林%' would scan every name). Japanese names are often 1 or 2 characters long
-- (林, 森, 翔, 小林), so every 1- and 2-character piece of a name is also kept in
-- member_name_grams, a plain WITHOUT ROWID b-tree keyed (gram, member_id): a 1–2 character
-- query is one index range read in member-id order, which pages without sorting.
--
-- The key both indexes hold is the name without spaces (ASCII and ideographic) and tabs,
-- ASCII lower-cased, exactly as `domain::member_search::name_key` normalises a query, so
-- "山田 太郎", "山田　太郎" and "山田太郎" are one name. Triggers on `members` keep both
-- indexes in step with every write, including the set-based roster import and re-import
-- (INSERT … SELECT and UPDATE … FROM fire row triggers like any other statement).
--
-- User IDs (prefix) use the existing UNIQUE index; card numbers and addresses get their own.

CREATE VIRTUAL TABLE member_names USING fts5 (
    name_key,
    tokenize = 'trigram',
    content = '',
    contentless_delete = 1
);

CREATE TABLE member_name_grams (
    gram      TEXT    NOT NULL,
    member_id INTEGER NOT NULL,
    PRIMARY KEY (gram, member_id)
) WITHOUT ROWID;

-- Character positions 1..100 (a roster name is at most 100 characters), so a trigger, where
-- SQLite allows no WITH clause, can cut a name into its pieces with a join.
CREATE TABLE search_positions (n INTEGER PRIMARY KEY);
INSERT INTO search_positions (n)
    WITH RECURSIVE p (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < 100)
    SELECT n FROM p;

CREATE TABLE search_gram_widths (w INTEGER PRIMARY KEY);
INSERT INTO search_gram_widths (w) VALUES (1), (2);

CREATE TRIGGER members_search_insert AFTER INSERT ON members
BEGIN
    INSERT INTO member_names (rowid, name_key)
    VALUES (new.id, lower(replace(replace(replace(new.name, ' ', ''), char(12288), ''), char(9), '')));
    INSERT OR IGNORE INTO member_name_grams (gram, member_id)
    SELECT substr(k.key, p.n, g.w), new.id
    FROM (SELECT lower(replace(replace(replace(new.name, ' ', ''), char(12288), ''), char(9), '')) AS key) AS k,
         search_positions AS p, search_gram_widths AS g
    WHERE p.n + g.w - 1 <= length(k.key);
END;

CREATE TRIGGER members_search_delete AFTER DELETE ON members
BEGIN
    DELETE FROM member_names WHERE rowid = old.id;
    -- By the old name's pieces, so each delete is a primary-key probe.
    DELETE FROM member_name_grams
    WHERE member_id = old.id AND gram IN (
        SELECT substr(k.key, p.n, g.w)
        FROM (SELECT lower(replace(replace(replace(old.name, ' ', ''), char(12288), ''), char(9), '')) AS key) AS k,
             search_positions AS p, search_gram_widths AS g
        WHERE p.n + g.w - 1 <= length(k.key));
END;

CREATE TRIGGER members_search_update AFTER UPDATE OF id, name ON members
WHEN old.name IS NOT new.name OR old.id IS NOT new.id
BEGIN
    DELETE FROM member_names WHERE rowid = old.id;
    DELETE FROM member_name_grams
    WHERE member_id = old.id AND gram IN (
        SELECT substr(k.key, p.n, g.w)
        FROM (SELECT lower(replace(replace(replace(old.name, ' ', ''), char(12288), ''), char(9), '')) AS key) AS k,
             search_positions AS p, search_gram_widths AS g
        WHERE p.n + g.w - 1 <= length(k.key));
    INSERT INTO member_names (rowid, name_key)
    VALUES (new.id, lower(replace(replace(replace(new.name, ' ', ''), char(12288), ''), char(9), '')));
    INSERT OR IGNORE INTO member_name_grams (gram, member_id)
    SELECT substr(k.key, p.n, g.w), new.id
    FROM (SELECT lower(replace(replace(replace(new.name, ' ', ''), char(12288), ''), char(9), '')) AS key) AS k,
         search_positions AS p, search_gram_widths AS g
    WHERE p.n + g.w - 1 <= length(k.key);
END;

-- The members already there.
INSERT INTO member_names (rowid, name_key)
SELECT id, lower(replace(replace(replace(name, ' ', ''), char(12288), ''), char(9), '')) FROM members;
INSERT OR IGNORE INTO member_name_grams (gram, member_id)
SELECT substr(k.key, p.n, g.w), k.id
FROM (SELECT id, lower(replace(replace(replace(name, ' ', ''), char(12288), ''), char(9), '')) AS key
      FROM members) AS k,
     search_positions AS p, search_gram_widths AS g
WHERE p.n + g.w - 1 <= length(k.key);

-- A card number without its symbol (prefix), in (number, symbol) order for stable pages.
CREATE INDEX members_number ON members (number, symbol);
-- Addresses compared case-insensitively (prefix); lower() folds ASCII, which addresses are.
CREATE INDEX members_email_lower ON members (lower(email));
