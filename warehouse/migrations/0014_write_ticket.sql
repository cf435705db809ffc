-- One row that every warehouse write transaction updates first (warehouse.db.run_transaction). DuckLake lets
-- appends from two transactions both commit; with the ticket, two overlapping write transactions always
-- conflict, so the later one runs again and its anti-joins see the earlier one's rows: nothing is doubled when
-- two runs load the same article or the same taxonomy at once, whatever the catalog.
CREATE TABLE write_ticket (writes BIGINT NOT NULL);
INSERT INTO write_ticket VALUES (0);
