//! The SQLite and PostgreSQL migrations describe one schema, and its constraints hold.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Kind, TestDb, new_contact};
use nyhetsbrev::domain::ContactStatus;
use nyhetsbrev::store::Actor;
use sqlx::{AnyConnection, Connection, Row};

/// Indexes that each backend builds its own way, checked by name instead: the search
/// index (an FTS5 table on SQLite, pg_trgm's GIN index on PostgreSQL) and an index on
/// an expression, which neither catalogue lists as columns.
const BACKEND_SPECIFIC_INDEXES: [&str; 2] = ["contacts_search_trgm", "inbound_messages_from"];

#[derive(Debug, PartialEq, Eq)]
struct Table {
    /// name → (type class, not null, default)
    columns: BTreeMap<String, (String, bool, Option<String>)>,
    /// name → (unique, columns)
    indexes: BTreeMap<String, (bool, String)>,
    /// (column, referenced table, referenced column, on delete)
    foreign_keys: BTreeSet<(String, String, String, String)>,
}

fn type_class(declared: &str) -> String {
    let upper = declared.to_uppercase();
    if upper.contains("INT") {
        "integer".into()
    } else if upper.contains("TEXT") || upper.contains("CHAR") {
        "text".into()
    } else if upper == "BLOB" || upper == "BYTEA" {
        "bytes".into()
    } else {
        upper
    }
}

fn normalise_default(default: Option<String>) -> Option<String> {
    default.map(|d| {
        d.split("::")
            .next()
            .unwrap_or_default()
            .trim_matches(['(', ')', '\''])
            .to_owned()
    })
}

async fn sqlite_schema(conn: &mut AnyConnection) -> BTreeMap<String, Table> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' \
         AND name NOT LIKE 'contacts_search%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut schema = BTreeMap::new();
    for table in tables {
        let mut columns = BTreeMap::new();
        for row in sqlx::query(
            r#"SELECT name, type, "notnull" AS nn, dflt_value, pk FROM pragma_table_info($1)"#,
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        {
            let not_null = row.get::<i64, _>("nn") == 1 || row.get::<i64, _>("pk") == 1;
            columns.insert(
                row.get("name"),
                (
                    type_class(&row.get::<String, _>("type")),
                    not_null,
                    normalise_default(row.get("dflt_value")),
                ),
            );
        }
        let mut indexes = BTreeMap::new();
        for row in sqlx::query(
            r#"SELECT name, "unique" AS u FROM pragma_index_list($1) WHERE origin = 'c'"#,
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        {
            let name: String = row.get("name");
            if BACKEND_SPECIFIC_INDEXES.contains(&name.as_str()) {
                continue;
            }
            let cols: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
            indexes.insert(name, (row.get::<i64, _>("u") == 1, cols.join(",")));
        }
        let foreign_keys = sqlx::query(r#"SELECT "from" AS f, "table" AS t, "to" AS c, on_delete FROM pragma_foreign_key_list($1)"#)
            .bind(&table)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get("f"), row.get("t"), row.get("c"), row.get::<String, _>("on_delete").to_lowercase()))
            .collect();
        schema.insert(
            table,
            Table {
                columns,
                indexes,
                foreign_keys,
            },
        );
    }
    schema
}

async fn postgres_schema(conn: &mut AnyConnection) -> BTreeMap<String, Table> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut schema = BTreeMap::new();
    for table in tables {
        let mut columns = BTreeMap::new();
        for row in sqlx::query(
            "SELECT column_name::text AS name, data_type::text AS type, is_nullable::text AS nullable, \
             column_default::text AS dflt FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        {
            columns.insert(
                row.get("name"),
                (
                    type_class(&row.get::<String, _>("type")),
                    row.get::<String, _>("nullable") == "NO",
                    normalise_default(row.get("dflt")),
                ),
            );
        }
        let mut indexes = BTreeMap::new();
        for row in sqlx::query(
            "SELECT i.relname::text AS name, CASE WHEN ix.indisunique THEN 1 ELSE 0 END::bigint AS u, \
             array_to_string(ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
               JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.ord), ',') AS cols \
             FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
             WHERE t.relname = $1 AND NOT ix.indisprimary",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        {
            let name: String = row.get("name");
            if BACKEND_SPECIFIC_INDEXES.contains(&name.as_str()) {
                continue;
            }
            indexes.insert(name, (row.get::<i64, _>("u") == 1, row.get("cols")));
        }
        let foreign_keys = sqlx::query(
            "SELECT a.attname::text AS f, c.confrelid::regclass::text AS t, af.attname::text AS c, \
             CASE c.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null' WHEN 'r' THEN 'restrict' \
               ELSE 'no action' END AS on_delete \
             FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1] \
             WHERE c.contype = 'f' AND c.conrelid = $1::regclass",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get("f"), row.get("t"), row.get("c"), row.get("on_delete")))
        .collect();
        schema.insert(
            table,
            Table {
                columns,
                indexes,
                foreign_keys,
            },
        );
    }
    schema
}

#[tokio::test]
async fn both_migration_folders_describe_the_same_schema() {
    let sqlite = TestDb::sqlite().await;
    sqlite.store().await;
    let mut conn = AnyConnection::connect(sqlite.url.expose()).await.unwrap();
    let sqlite_schema = sqlite_schema(&mut conn).await;

    let expected_tables = [
        "address_duplicates",
        "api_tokens",
        "audit_log",
        "contact_counts",
        "contacts",
        "data_migrations",
        "deliveries",
        "delivery_counts",
        "erased_addresses",
        "first_account_code",
        "inbound_messages",
        "issues",
        "login_attempts",
        "notices",
        "publications",
        "staff_account_changes",
        "staff_recovery_codes",
        "staff_sessions",
        "staff_settings",
        "staff_users",
        "subscription_requests",
        "subscriptions",
        "tokens",
    ];
    assert_eq!(
        sqlite_schema.keys().map(String::as_str).collect::<Vec<_>>(),
        expected_tables
    );
    assert_eq!(
        sqlite_schema["contacts"].indexes["contacts_email_key"],
        (true, "email_key".into())
    );
    assert_eq!(
        sqlite_schema["deliveries"].indexes["deliveries_issue_contact"],
        (true, "issue_id,contact_id".into())
    );

    // The search index on SQLite is an FTS5 table over contacts.
    let search: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE name = 'contacts_search' OR name = 'inbound_messages_from'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(search.len(), 2, "{search:?}");

    let Some(postgres) = TestDb::postgres().await else {
        return;
    };
    postgres.store().await;
    let mut conn = AnyConnection::connect(postgres.url.expose()).await.unwrap();
    let postgres_schema = postgres_schema(&mut conn).await;
    let search: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes \
         WHERE indexname IN ('contacts_search_trgm', 'inbound_messages_from')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(search.len(), 2, "{search:?}");
    conn.close().await.unwrap();
    for (name, table) in &sqlite_schema {
        assert_eq!(
            Some(table),
            postgres_schema.get(name),
            "table {name} differs between the backends"
        );
    }
    assert_eq!(sqlite_schema.len(), postgres_schema.len());
}

#[test]
fn both_migration_folders_have_the_same_versions() {
    let versions = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = versions("migrations/sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, versions("migrations/postgres"));
}

on_both_backends!(
    constraints_hold,
    delivery_counts_follow_every_change,
    contact_counts_and_the_search_index_follow_every_change,
);

/// The counts per status and the search index are kept by triggers: after every kind
/// of change they agree with a real count and a real scan.
async fn contact_counts_and_the_search_index_follow_every_change(db: &TestDb) {
    use nyhetsbrev::domain::{ConsentNote, ContactChanges, ContactName};
    use nyhetsbrev::store::{ContactFilter, PageStart};
    let store = db.store().await;
    let actor = Actor::parse("cli:test");
    let check = |step: &'static str| {
        let store = store.clone();
        async move {
            assert_eq!(
                store.contact_counts().await.unwrap(),
                store.count_by_status().await.unwrap(),
                "after {step}"
            );
        }
    };
    let found = |text: &'static str| {
        let store = store.clone();
        async move {
            let filter = ContactFilter {
                status: None,
                search: Some(text.to_owned()),
                publication: None,
            };
            store
                .contact_page(&filter, &PageStart::First, 100)
                .await
                .unwrap()
                .contacts
                .into_iter()
                .map(|c| c.email.to_string())
                .collect::<Vec<_>>()
        }
    };
    common::add_confirmed(&store, 0..30).await;
    check("adds").await;
    let csv = "email,name\nny1@example.no,Åse\nny2@example.no,Bjørn\n";
    nyhetsbrev::ops::Contacts::new(store.clone())
        .import(
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            "liste.csv",
            &Default::default(),
            &actor,
            |_| {},
        )
        .await
        .unwrap();
    check("an import").await;
    assert_eq!(found("bjørn").await, vec!["ny2@example.no"]);
    let first = common::email(&common::numbered_address(1));
    store
        .update_contact(
            &first,
            &ContactChanges {
                status: Some(ContactStatus::Bounced),
                name: Some(ContactName::parse("Kari Nordmann").unwrap()),
                ..Default::default()
            },
            &actor,
        )
        .await
        .unwrap();
    check("an edit").await;
    assert_eq!(found("nordmann").await, vec![first.to_string()]);
    let id = store.contact(&first).await.unwrap().unwrap().id;
    store
        .reset_bounced(
            id,
            &ConsentNote::parse("virker igjen").unwrap().unwrap(),
            &actor,
        )
        .await
        .unwrap();
    check("a reset").await;
    store
        .update_contact(
            &first,
            &ContactChanges {
                name: Some(ContactName::parse("Kari Hansen").unwrap()),
                ..Default::default()
            },
            &actor,
        )
        .await
        .unwrap();
    assert!(
        found("nordmann").await.is_empty(),
        "the old name is gone from the index"
    );
    assert_eq!(found("hansen").await, vec![first.to_string()]);
    store
        .unsubscribe_address(&common::email(&common::numbered_address(2)), &actor)
        .await
        .unwrap();
    check("an unsubscribe").await;
    store.remove_contact(&first, &actor).await.unwrap();
    check("a removal").await;
    assert!(found("hansen").await.is_empty());
}

/// Deliveries are unique per issue and contact, go with their contact, and the status
/// columns accept only the known words.
async fn constraints_hold(db: &TestDb) {
    let store = db.store().await;
    let contact = store
        .add_contact(
            &new_contact("ola@example.org", ContactStatus::Confirmed),
            &Actor::parse("test"),
        )
        .await
        .unwrap();
    let mut conn = AnyConnection::connect(db.url.expose()).await.unwrap();
    if db.kind == Kind::Sqlite {
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let issue: i64 = sqlx::query_scalar(
        "INSERT INTO issues (slug, subject, period, preheader, source, status, created_at, updated_at) \
         VALUES ('2024-q1', 'Nyhetsbrev fra KOM', 'januar–mars 2024', 'p', '# x', 'draft', 0, 0) RETURNING id",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let delivery = "INSERT INTO deliveries (issue_id, contact_id, status, next_attempt_at, created_at, updated_at) \
                    VALUES ($1, $2, 'queued', 0, 0, 0)";
    sqlx::query(delivery)
        .bind(issue)
        .bind(contact.id)
        .execute(&mut conn)
        .await
        .unwrap();
    let twice = sqlx::query(delivery)
        .bind(issue)
        .bind(contact.id)
        .execute(&mut conn)
        .await;
    assert!(
        matches!(&twice, Err(sqlx::Error::Database(e)) if e.is_unique_violation()),
        "{twice:?}"
    );
    sqlx::query("INSERT INTO tokens (token_hash, contact_id, purpose, created_at) VALUES ('h', $1, 'confirm', 0)")
        .bind(contact.id)
        .execute(&mut conn)
        .await
        .unwrap();

    let bad_status = sqlx::query("UPDATE contacts SET status = 'active' WHERE id = $1")
        .bind(contact.id)
        .execute(&mut conn)
        .await;
    assert!(
        matches!(&bad_status, Err(sqlx::Error::Database(e)) if e.is_check_violation()),
        "{bad_status:?}"
    );

    assert!(
        store
            .remove_contact(&contact.email, &Actor::parse("test"))
            .await
            .unwrap()
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM deliveries) + (SELECT COUNT(*) FROM tokens)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(left, 0, "deliveries and tokens go with their contact");
    conn.close().await.unwrap();
}

/// The counts the triggers keep equal a count of the deliveries themselves after every
/// kind of change: queueing, claims that skip, outcomes, cancel, queueing again,
/// failures sent again, and a contact erased with its deliveries.
async fn delivery_counts_follow_every_change(db: &TestDb) {
    let store = db.store().await;
    let actor = Actor::parse("cli:test");
    common::add_confirmed(&store, 0..20).await;
    let (slug, issue_id) = common::sample_draft(&store).await;
    let check = |step: &'static str| {
        let store = store.clone();
        async move {
            let counted = store.send_counts(issue_id).await.unwrap();
            let rows = db
                .query_strings(&format!(
                    "SELECT status || ':' || CAST(COUNT(*) AS TEXT) FROM deliveries WHERE issue_id = {issue_id} GROUP BY status ORDER BY status"
                ))
                .await;
            let retrying = db
                .query_strings(&format!(
                    "SELECT CAST(COUNT(*) AS TEXT) FROM deliveries WHERE issue_id = {issue_id} AND status = 'queued' AND attempts > 0"
                ))
                .await;
            let mut expected = nyhetsbrev::store::SendCounts::default();
            for row in rows {
                let (status, n) = row.split_once(':').unwrap();
                let n: i64 = n.parse().unwrap();
                expected.total += n;
                match status {
                    "queued" => expected.queued = n,
                    "sent" => expected.sent = n,
                    "failed" => expected.failed = n,
                    "skipped" => expected.skipped = n,
                    "cancelled" => expected.cancelled = n,
                    other => panic!("{other}"),
                }
            }
            expected.retrying = retrying[0].parse().unwrap();
            assert_eq!(counted, expected, "after {step}");
        }
    };
    store.enqueue_issue(&slug, &actor).await.unwrap();
    check("queueing").await;
    let claimed = store
        .claim_deliveries("w", 8, nyhetsbrev::domain::Timestamp::now(), None, None)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 8);
    db.execute(&format!(
        "UPDATE deliveries SET status = 'sent', attempts = 1 WHERE id IN ({}, {}, {})",
        claimed[0].id, claimed[1].id, claimed[2].id
    ))
    .await;
    db.execute(&format!(
        "UPDATE deliveries SET attempts = 2 WHERE id IN ({}, {})",
        claimed[3].id, claimed[4].id
    ))
    .await;
    db.execute(&format!(
        "UPDATE deliveries SET status = 'failed', attempts = 3 WHERE id IN ({}, {})",
        claimed[4].id, claimed[5].id
    ))
    .await;
    check("outcomes and a retry").await;
    store.cancel_issue(&slug, &actor).await.unwrap();
    check("cancel").await;
    store.enqueue_issue(&slug, &actor).await.unwrap();
    check("queueing again").await;
    store.requeue_failed(&slug, &actor).await.unwrap();
    check("failures sent again").await;
    store
        .remove_contact(&common::email(&common::numbered_address(7)), &actor)
        .await
        .unwrap();
    check("a contact erased").await;
}
