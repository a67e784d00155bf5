-- Since this version the search index also folds decomposed umlauts (a + U+0308, NFD) into the
-- ae/oe/ue spellings (src/lib/search-text.ts). The index is emptied here; at start-up the server
-- finds it short of the live facilities and builds it again from the records
-- (ensureSearchIndex in src/repositories/search-index.ts), both facilities and services.
DELETE FROM `facility_search`;
--> statement-breakpoint
DELETE FROM `service_search`;
