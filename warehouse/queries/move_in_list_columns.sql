-- The columns of every base table (not view) of one attached database, in table order: what a move copies.
SELECT c.table_name, c.column_name
FROM duckdb_columns() AS c
JOIN duckdb_tables() AS t
    ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name
WHERE c.database_name = $database AND c.schema_name = 'main'
ORDER BY c.table_name, c.column_index;
