//! The sandbox's demo customer: its answers and keys, its users signing
//! in, and changes behind the wizard's back.

use super::*;

/// A demo customer user's XSUAA token (password grant with the Task Center
/// key's client, origin sap.custom), as SAP's clients get one.
pub async fn user_token(app: &TestApp, demo: &serde_json::Value, email: &str) -> String {
    let person = demo["people"]
        .as_array()
        .and_then(|p| p.iter().find(|x| x["email"] == email))
        .cloned()
        .unwrap_or_else(|| panic!("no demo person {email}"));
    let r: serde_json::Value = client()
        .post(app.sandbox_url("/oauth/token"))
        .basic_auth(
            demo["tc_clientid"].as_str().unwrap_or(""),
            Some(demo["tc_clientsecret"].as_str().unwrap_or("")),
        )
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", person["password"].as_str().unwrap_or("")),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("password grant: {r}"))
        .to_string()
}

/// Demo values as the form answers of a page, in sandbox mode.
pub fn demo_answers(demo: &serde_json::Value, page: &str) -> Vec<(&'static str, String)> {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    match page {
        "facts" => vec![
            ("s4_host", d("s4_host")),
            ("s4_client", d("s4_client")),
            ("region", d("region")),
        ],
        "step-1" => vec![
            ("subdomain", d("subdomain")),
            ("subaccount_id", d("subaccount_id")),
        ],
        "step-2" => vec![
            ("ias_host", d("ias_host")),
            ("ias_client_id", d("ias_clientid")),
            ("ias_client_secret", d("ias_clientsecret")),
        ],
        "step-3-1" => vec![(
            "service_key",
            demo_task_center_key(demo, &d("tc_clientsecret")),
        )],
        "step-3-2" => vec![("dest_key", demo_destination_key(demo))],
        "step-3-3" => vec![
            ("comm_user", d("comm_user")),
            ("comm_password", d("comm_password")),
        ],
        other => valid_answers(other),
    }
}

pub fn demo_task_center_key(demo: &serde_json::Value, secret: &str) -> String {
    tc_key_of(
        demo,
        demo["tc_clientid"].as_str().unwrap_or_default(),
        secret,
    )
}

/// The demo's dedicated Task Center key for the push channel.
pub fn demo_push_key(demo: &serde_json::Value) -> String {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    tc_key_of(demo, &d("push_clientid"), &d("push_clientsecret"))
}

fn tc_key_of(demo: &serde_json::Value, client: &str, secret: &str) -> String {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    serde_json::json!({
        "endpoints": {"inbox_rest_url": d("inbox_rest_url")},
        "uaa": {"clientid": client, "clientsecret": secret, "url": d("uaa_url"), "tenantid": d("subaccount_id"), "identityzone": d("subdomain")}
    })
    .to_string()
}

pub fn demo_destination_key(demo: &serde_json::Value) -> String {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    serde_json::json!({"uri": d("dest_uri"), "url": d("uaa_url"), "clientid": d("dest_clientid"), "clientsecret": d("dest_clientsecret")}).to_string()
}

/// Save `page` with the demo values (ticking every confirmation shown).
pub async fn complete_demo_page(
    app: &TestApp,
    demo: &serde_json::Value,
    id: &str,
    page: &str,
) -> Page {
    save_ticking_all(app, id, page, &demo_answers(demo, page)).await
}

/// A demo person (e-mail, password, Global User ID ...) from demo.json.
pub fn person(demo: &serde_json::Value, email: &str) -> serde_json::Value {
    demo["people"]
        .as_array()
        .and_then(|p| p.iter().find(|x| x["email"] == email))
        .cloned()
        .expect("person")
}

/// Sign in at the sandbox's IAS page and return where XSUAA sends the browser.
pub async fn sandbox_sign_in(authorize: &str, email: &str, password: &str) -> reqwest::Response {
    let page = client().get(authorize).send().await.expect("authorize");
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "{authorize}: {}",
        page.text().await.unwrap_or_default()
    );
    let u = url::Url::parse(authorize).expect("url");
    let mut form: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    client()
        .post(format!(
            "{}/oauth/authorize",
            u.origin().ascii_serialization()
        ))
        .form(&form)
        .send()
        .await
        .expect("sign in")
}

/// "Sign in as a customer user" through the wizard, the sandbox's sign-in
/// page and the callback, as a browser would.
pub async fn sign_in_customer(app: &TestApp, id: &str, demo: &serde_json::Value, email: &str) {
    let page = app.get(&format!("/setups/{id}/customer-user")).await;
    assert_eq!(page.status, StatusCode::OK);
    let href = between(&page.body, "<a class=\"button\" href=\"", "\"")
        .expect("sign-in link")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        href.starts_with(app.sandbox.as_deref().unwrap_or("")),
        "{href}"
    );
    let pw = person(demo, email)["password"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let r = sandbox_sign_in(&href, email, &pw).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = r.headers()["location"].to_str().expect("loc").to_string();
    assert!(back.starts_with("http://localhost:"), "{back}");
    let r = app.get(&path_of(&back)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.location
            .unwrap_or_default()
            .ends_with(&format!("/setups/{id}/verify"))
    );
}

/// A client-credentials token of the demo Destination service key.
pub async fn dest_token(app: &TestApp, demo: &serde_json::Value) -> String {
    client_token(app, demo, "dest").await
}

/// A client-credentials token of the demo's key `kind` (`dest`, `sm`):
/// what a tool or an administrator holding that key gets.
pub async fn client_token(app: &TestApp, demo: &serde_json::Value, kind: &str) -> String {
    let r: serde_json::Value = client()
        .post(app.sandbox_url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                demo[format!("{kind}_clientid")]
                    .as_str()
                    .unwrap_or_default(),
            ),
            (
                "client_secret",
                demo[format!("{kind}_clientsecret")]
                    .as_str()
                    .unwrap_or_default(),
            ),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    r["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// A list of SAP Service Manager's, read with the demo's Service Manager key.
pub async fn service_manager_list(
    app: &TestApp,
    demo: &serde_json::Value,
    path: &str,
) -> serde_json::Value {
    let token = client_token(app, demo, "sm").await;
    get_with(app.sandbox_url(path), &token).await
}

/// GET a JSON document with a bearer token.
pub async fn get_with(url: String, token: &str) -> serde_json::Value {
    client()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// A setup created by `who` with its facts saved; its id.
pub async fn create_with_facts_as(app: &TestApp, who: &reqwest::Client, name: &str) -> String {
    let r = app.post_as(who, "/setups", &[("name", name)]).await;
    let id = r
        .location
        .expect("created")
        .trim_start_matches("/setups/")
        .to_string();
    let answers = valid_answers("facts");
    let mut form: Vec<(&str, &str)> = vec![("_version", "0")];
    form.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    let saved = app
        .post_as(who, &format!("/setups/{id}/pages/facts"), &form)
        .await;
    assert_eq!(
        saved.status,
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        saved.body
    );
    id
}

/// Change a subaccount destination behind the wizard's back, as someone in
/// the cockpit would: read it, change it, write it back; the write's status.
pub async fn edit_destination(
    app: &TestApp,
    demo: &serde_json::Value,
    name: &str,
    change: impl FnOnce(&mut serde_json::Value),
) -> reqwest::StatusCode {
    let token = dest_token(app, demo).await;
    let base = app.sandbox_url("/destination-configuration/v1/subaccountDestinations");
    let mut d: serde_json::Value = client()
        .get(format!("{base}/{name}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get destination")
        .json()
        .await
        .expect("destination json");
    change(&mut d);
    client()
        .put(&base)
        .bearer_auth(&token)
        .json(&d)
        .send()
        .await
        .expect("put destination")
        .status()
}

/// GET a JSON document (the sandbox's switches and views) without a session.
pub async fn get_json(url: impl reqwest::IntoUrl) -> serde_json::Value {
    client()
        .get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// A setup of the demo customer, its pages up to `upto` saved with the demo
/// values (every confirmation ticked), as the user of client `c`; its id.
pub async fn demo_setup_as(
    app: &TestApp,
    c: &reqwest::Client,
    demo: &serde_json::Value,
    upto: &[&str],
) -> String {
    let r = app.post_as(c, "/setups", &[("name", "ACME Demo")]).await;
    let id = r
        .location
        .expect("created")
        .trim_start_matches("/setups/")
        .to_string();
    for page in upto {
        let r = save_ticking_all_as(app, c, &id, page, &demo_answers(demo, page)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    id
}

/// The same as the signed-in administrator.
pub async fn demo_setup(app: &TestApp, demo: &serde_json::Value, upto: &[&str]) -> String {
    demo_setup_as(app, &app.client, demo, upto).await
}

/// A Service Manager key of the demo subaccount (plan subaccount-admin, or
/// the read-only subaccount-audit).
pub fn service_manager_key(demo: &serde_json::Value, audit: bool) -> String {
    let (id, secret) = if audit {
        ("sm_audit_clientid", "sm_audit_clientsecret")
    } else {
        ("sm_clientid", "sm_clientsecret")
    };
    serde_json::json!({
        "clientid": demo[id], "clientsecret": demo[secret], "sm_url": demo["sm_url"],
        "url": demo["uaa_url"], "xsappname": "b9012|service-manager!b1476"
    })
    .to_string()
}

/// Save the demo's SAP_COM_0A48 API user on the S/4HANA API page.
pub async fn save_s4_api_user(app: &TestApp, demo: &serde_json::Value, id: &str) -> Page {
    let api = &demo["s4_api_users"][0];
    app.post(
        &format!("/setups/{id}/s4-setup/credentials"),
        &[
            ("s4_api_user", api[0].as_str().unwrap_or("")),
            ("s4_api_password", api[1].as_str().unwrap_or("")),
        ],
    )
    .await
}

/// The customer a setup belongs to, as its task list links it (issue 23).
pub async fn customer_of(app: &TestApp, id: &str) -> String {
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    let customer = between(&tasks, "href=\"/customers/", "\"")
        .unwrap_or("")
        .to_string();
    assert!(!customer.is_empty(), "the task list links its customer");
    customer
}

/// "Connect the next system" from `from`: the fields the consultant types
/// (the README states the figure).
pub const TYPED_FOR_NEXT: usize = 2;

/// The next system of `customer`, connected from `from`: its setup's id.
pub async fn connect_next_system(
    app: &TestApp,
    customer: &str,
    from: &str,
    host: &str,
    role: &str,
) -> String {
    let form = [("from", from), ("s4_host", host), ("system_role", role)];
    // What the consultant types: the host and the role (`from` is the form's).
    assert_eq!(form.len() - 1, TYPED_FOR_NEXT);
    let r = app
        .post(&format!("/customers/{customer}/next-system"), &form)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER, "{}", r.body);
    r.location
        .unwrap_or_default()
        .trim_start_matches("/setups/")
        .to_string()
}

/// Step 2 of `id` saved again with another IAS tenant, a second after the
/// pages were copied (saves are stamped in seconds): a shared page changed.
pub async fn change_ias_later(app: &TestApp, demo: &serde_json::Value, id: &str, host: &str) {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut ias = demo_answers(demo, "step-2");
    ias.retain(|(k, _)| *k != "ias_host");
    ias.push(("ias_host", host.into()));
    let r = save_ticking_all(app, id, "step-2", &ias).await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER, "{}", r.body);
}

/// A customer with two systems on `app` (with the sandbox): the first (its
/// BTP and IAS pages done) and the quality system connected from it:
/// (demo, first, customer, quality).
pub async fn two_systems_on(app: &TestApp) -> (serde_json::Value, String, String, String) {
    let demo = app.demo().await;
    let first = demo_setup(app, &demo, &["facts", "step-1", "step-2"]).await;
    let customer = customer_of(app, &first).await;
    let quality = connect_next_system(
        app,
        &customer,
        &first,
        "my404688.s4hana.ondemand.com",
        "quality",
    )
    .await;
    (demo, first, customer, quality)
}
