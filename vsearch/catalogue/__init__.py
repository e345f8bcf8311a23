"""The LanceDB catalogue: store schema, tables, vector tables."""
