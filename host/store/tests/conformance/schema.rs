//! The SQLite and PostgreSQL migrations build the same schema: the same tables, each with the
//! same columns, each column nullable in both or in neither, and the same indexes. Types are
//! each dialect's own and are not compared.

use std::collections::BTreeSet;

use sqlx::{Connection, Row};

/// `table.column` with ` null` for a nullable column, plus `index:name` for each index.
type Schema = BTreeSet<String>;

async fn sqlite_schema(path: &std::path::Path) -> Schema {
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut schema = Schema::new();
    let columns = sqlx::query(
        "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" AS not_null, p.pk AS pk \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for row in columns {
        let (table, column): (String, String) = (row.get("table_name"), row.get("column_name"));
        let nullable = row.get::<i64, _>("not_null") == 0 && row.get::<i64, _>("pk") == 0;
        schema.insert(format!(
            "{table}.{column}{}",
            if nullable { " null" } else { "" }
        ));
    }
    let indexes = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for row in indexes {
        schema.insert(format!("index:{}", row.get::<String, _>("name")));
    }
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    let mut schema = Schema::new();
    let columns = sqlx::query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
         is_nullable::text AS is_nullable \
         FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for row in columns {
        let (table, column): (String, String) = (row.get("table_name"), row.get("column_name"));
        let nullable = row.get::<String, _>("is_nullable") == "YES";
        schema.insert(format!(
            "{table}.{column}{}",
            if nullable { " null" } else { "" }
        ));
    }
    // Primary keys and unique constraints are indexes PostgreSQL names itself (`*_pkey`,
    // `*_key`); SQLite's are the `sqlite_autoindex_*` left out above.
    let indexes = sqlx::query(
        "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for row in indexes {
        schema.insert(format!("index:{}", row.get::<String, _>("name")));
    }
    db.close().await.ok();
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let sqlite = crate::support::sqlite().await;
    let postgres = crate::support::postgres().await;
    let lite = sqlite_schema(&sqlite.sqlite_path().unwrap()).await;
    let pg = postgres_schema(&postgres.postgres_database_url().unwrap()).await;
    postgres.drop().await;
    assert!(lite.len() > 20, "the schema was read: {lite:?}");
    let only_sqlite: Vec<_> = lite.difference(&pg).collect();
    let only_postgres: Vec<_> = pg.difference(&lite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the schemas differ:\n only in SQLite: {only_sqlite:?}\n only in PostgreSQL: {only_postgres:?}"
    );
}
