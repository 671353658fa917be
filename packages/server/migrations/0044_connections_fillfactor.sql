-- A connection row is written far more often than rows are added: the refresh sweep's lease on
-- every claim, `last_used_at`, status and failure counts. None of those columns is indexed, so
-- when the row's page has room Postgres rewrites it in place (a HOT update) and writes no index
-- entry; on a page packed full by inserts the new version moves to another page and each of the
-- table's indexes gets an entry — random index pages to read and dirty, more of them the larger
-- the table (a claim of 100 cost 1.7x as much at 100,000 tenants as at 1,000; docs/scale.md).
-- 15 % of each page is kept free for those rewrites. Pages written before keep their fill until
-- their rows are rewritten.
ALTER TABLE connections SET (fillfactor = 85);
