-- SQLite's search index gets `secure-delete` in this version; PostgreSQL's trigram
-- index is a plain index, cleaned by the vacuum that follows every erasure
-- (`Store::scrub_deleted`). Kept so both dialects have the same versions.
SELECT 1;
