//! The test PostgreSQL server, and setups stored the old way.

/// The master key every instance on the test PostgreSQL shares.
pub const PG_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// A fresh database on the test PostgreSQL server that `.ci/run` starts
/// (`WIZARD_TEST_POSTGRES`), as a URL.
pub async fn postgres_database() -> String {
    use sqlx::Connection;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = std::env::var("WIZARD_TEST_POSTGRES").expect(
        "WIZARD_TEST_POSTGRES is not set: run the tests with .ci/run, which starts a PostgreSQL server for them",
    );
    let mut c = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL at {base}: {e}"));
    let name = format!(
        "tcw_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&base).expect("WIZARD_TEST_POSTGRES is a URL");
    url.set_path(&name);
    url.to_string()
}

/// Answers as the wizard arranged them before trust came before the booster
/// (layout 1): subaccount and IAS facts on the first page, the plan and the
/// booster's confirmations in step 1, the IDS destination's in step 2, and
/// no subject-name confirmation yet.
pub fn to_layout_1(
    pages: &mut serde_json::Map<String, serde_json::Value>,
    data_of: fn(&mut serde_json::Value) -> &mut serde_json::Value,
) {
    let mut take = |page: &str, key: &str| -> Option<serde_json::Value> {
        pages
            .get_mut(page)
            .and_then(|p| data_of(p).as_object_mut())
            .and_then(|d| d.remove(key))
    };
    let moves = [
        ("step-1", "subdomain", "facts", "subdomain"),
        ("step-1", "subaccount_id", "facts", "subaccount_id"),
        ("step-2", "ias_host", "facts", "ias_host"),
        ("booster", "plan", "step-1", "plan"),
        (
            "booster",
            "booster_confirm.booster",
            "step-1",
            "step1_confirm.booster",
        ),
        (
            "booster",
            "booster_confirm.roles",
            "step-1",
            "step1_confirm.roles",
        ),
        (
            "booster",
            "booster_confirm.ids_destination",
            "step-2",
            "step2_confirm.ids_destination",
        ),
    ];
    let mut taken = Vec::new();
    for (from, key, to, new_key) in moves {
        let v = take(from, key).unwrap_or_else(|| panic!("{from} has {key}"));
        taken.push((to, new_key, v));
    }
    take("step-2", "step2_confirm.subject_uuid").expect("subject confirmation");
    for (to, key, v) in taken {
        data_of(pages.get_mut(to).expect("page"))
            .as_object_mut()
            .expect("data")
            .insert(key.into(), v);
    }
    pages.remove("booster");
}

/// Rewrite a stored setup as the previous build stored it (layout 1, with
/// its bases and summary), in SQLite or PostgreSQL.
pub async fn rewrite_to_layout_1(url: &str, id: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.expect("open db");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT page, data FROM answers WHERE setup_id = $1")
            .bind(id)
            .fetch_all(&mut c)
            .await
            .expect("answers");
    let mut pages: serde_json::Map<String, serde_json::Value> = rows
        .into_iter()
        .map(|(p, d)| (p, serde_json::from_str(&d).expect("json")))
        .collect();
    to_layout_1(&mut pages, |p| p);
    sqlx::query("DELETE FROM answers WHERE setup_id = $1 AND page = 'booster'")
        .bind(id)
        .execute(&mut c)
        .await
        .expect("delete");
    for (page, data) in &pages {
        sqlx::query("UPDATE answers SET data = $1 WHERE setup_id = $2 AND page = $3")
            .bind(data.to_string())
            .bind(id)
            .bind(page)
            .execute(&mut c)
            .await
            .expect("rewrite");
        // What layout 1 recorded: step 1 depended on nothing, 2 on the tenant.
        let basis = match page.as_str() {
            "step-1" => Some(""),
            "step-2" => Some("ias_host=acme.accounts.ondemand.com"),
            _ => None,
        };
        if let Some(basis) = basis {
            sqlx::query("UPDATE answers SET basis = $1 WHERE setup_id = $2 AND page = $3")
                .bind(basis)
                .bind(id)
                .bind(page)
                .execute(&mut c)
                .await
                .expect("basis");
        }
    }
    sqlx::query("UPDATE setups SET layout = 1, total_pages = 12, rev = rev + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut c)
        .await
        .expect("layout 1");
    c.close().await.expect("close");
}

/// Put a database back as it was before customers (migration 0010 on
/// SQLite, 0006 on PostgreSQL), so that the next start upgrades it.
pub async fn as_before_customers(url: &str, postgres: bool) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.expect("open db");
    for q in [
        "DROP INDEX setups_by_customer",
        "ALTER TABLE setups DROP COLUMN customer_id",
        "DROP TABLE customers",
        if postgres {
            "DELETE FROM _sqlx_migrations WHERE version = 6"
        } else {
            "DELETE FROM _sqlx_migrations WHERE version = 10"
        },
    ] {
        sqlx::query(q).execute(&mut c).await.expect(q);
    }
}
